package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// redisServer is a redis-server started by the driver for one run: a unix
// socket in its own temporary directory, nothing written to disk.
type redisServer struct {
	cmd     *exec.Cmd
	dir     string
	Socket  string
	Version string
	done    chan struct{}
}

// startRedis starts redis-server and waits until it answers on its socket.
func startRedis() (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not installed (run.sh installs it when run as root: apt-get install -y redis-server)")
	}
	dir, err := os.MkdirTemp("", "mapkv-bench-redis-")
	if err != nil {
		return nil, err
	}
	s := &redisServer{dir: dir, Socket: filepath.Join(dir, "redis.sock"), done: make(chan struct{})}
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		s.Version = strings.TrimSpace(string(out))
	}
	s.cmd = exec.Command(bin,
		"--port", "0",
		"--unixsocket", s.Socket,
		"--unixsocketperm", "700",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"),
	)
	s.cmd.Dir = dir
	// Its own process group, so a terminal's ^C reaches the driver first
	// and the driver stops it by pid.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", s.Socket)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("redis-server exited: %s", lastLines(string(log), 3))
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("redis-server did not open its socket within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid returns the server's process id.
func (s *redisServer) Pid() int { return s.cmd.Process.Pid }

// Stop ends the server by its pid (SIGTERM, then SIGKILL after 5s) and
// removes its directory.
func (s *redisServer) Stop() {
	if s == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
