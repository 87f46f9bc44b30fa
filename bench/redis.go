package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

func init() {
	register(&Peer{
		Name:         "redis",
		Order:        40,
		Open:         openRedis,
		MultiProcess: true,
		InMemory:     true,
		Notes: "redis-server on a unix socket, no persistence (--save '' --appendonly no), " +
			"go-redis/v9 RESP2 client, one connection; every call is a socket round trip; a batch is one MSET",
	})
}

type redisStore struct {
	c        *redis.Client
	readOnly bool
}

func openRedis(cfg Config) (Store, error) {
	if cfg.Socket == "" {
		return nil, errors.New("redis: no server socket (redis-server not started)")
	}
	c := redis.NewClient(&redis.Options{
		Network:         "unix",
		Addr:            cfg.Socket,
		Protocol:        2,
		DisableIdentity: true,
		PoolSize:        1,
		MaxRetries:      -1,
		DialTimeout:     5 * time.Second,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, err
	}
	if cfg.Fresh && !cfg.ReadOnly {
		if err := c.FlushAll(ctx).Err(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return &redisStore{c: c, readOnly: cfg.ReadOnly}, nil
}

func (s *redisStore) Get(dst, key []byte) ([]byte, bool, error) {
	v, err := s.c.Get(context.Background(), string(key)).Bytes()
	if err == redis.Nil {
		return dst, false, nil
	}
	if err != nil {
		return dst, false, err
	}
	return append(dst, v...), true, nil
}

func (s *redisStore) Put(key, value []byte) error {
	if s.readOnly {
		return errReadOnly
	}
	return s.c.Set(context.Background(), string(key), value, 0).Err()
}

func (s *redisStore) Batch(keys, values [][]byte) error {
	if s.readOnly {
		return errReadOnly
	}
	args := make([]any, 0, 2*len(keys))
	for i := range keys {
		args = append(args, keys[i], values[i])
	}
	return s.c.MSet(context.Background(), args...).Err()
}

// MemoryUsed reports the server's used_memory from INFO memory: Redis
// keeps no file, so this stands in for the file size.
func (s *redisStore) MemoryUsed() (int64, error) {
	info, err := s.c.Info(context.Background(), "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("redis: no used_memory in INFO")
}

func (s *redisStore) Close() error { return s.c.Close() }
