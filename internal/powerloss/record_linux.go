//go:build linux && (amd64 || arm64)

package powerloss

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Record starts cmd (a launcher from Command), holds the writer it becomes at
// every trapped call on the file at path or on its directory, and returns
// what it saw. The file may be missing at the start; its directory must
// exist. If the writer fails, Record returns the trace so far with the error.
// If ctx ends first, the writer is killed. An error wrapping ErrUnavailable
// means this system cannot hold the writer.
func Record(ctx context.Context, cmd *exec.Cmd, path string) (*Trace, error) {
	if len(cmd.ExtraFiles) != 0 {
		return nil, errors.New("powerloss: Record needs a command without ExtraFiles")
	}
	s, err := newSupervisor(path)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.start(cmd); err != nil {
		return nil, err
	}
	return s.tr, s.run(ctx, cmd)
}

type supervisor struct {
	tr             *Trace
	path, dir      string
	dirDev, dirIno uint64
	files          map[uint64]*os.File // a handle on each inode read so far
	listener       int
	sock           int // the supervisor's end of the launcher's socket
	ack            int // the read end of the acknowledgement pipe, non-blocking
	partial        []byte
	buf            []byte
}

func newSupervisor(path string) (*supervisor, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("powerloss: %w", err)
	}
	dir := filepath.Dir(path)
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil, fmt.Errorf("powerloss: stat %s: %w", dir, err)
	}
	s := &supervisor{tr: newTrace(path), path: path, dir: dir, dirDev: st.Dev, dirIno: st.Ino,
		files: map[uint64]*os.File{}, listener: -1, sock: -1, ack: -1}
	// The pseudo-call "start": the state before the writer runs, durable.
	k := s.tr.addCall(Call{Name: "start", On: OnAll})
	if err := s.observe(k, nil); err != nil {
		return nil, err
	}
	s.tr.syncAll(k)
	return s, nil
}

func (s *supervisor) close() {
	for _, f := range s.files {
		f.Close()
	}
	for _, fd := range []int{s.listener, s.sock, s.ack} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// start runs the launcher and takes the listener from it.
func (s *supervisor) start(cmd *exec.Cmd) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("powerloss: socketpair: %w", err)
	}
	s.sock = pair[0]
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		unix.Close(pair[1])
		return fmt.Errorf("powerloss: pipe: %w", err)
	}
	s.ack = p[0]
	child := []*os.File{os.NewFile(uintptr(pair[1]), "launch-socket"), os.NewFile(uintptr(p[1]), "ack")}
	cmd.ExtraFiles = child
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", ackEnv, ackFD))
	err = cmd.Start()
	for _, f := range child {
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("powerloss: start the launcher: %w", err)
	}
	if err := unix.SetNonblock(s.ack, true); err != nil {
		return s.abort(cmd, fmt.Errorf("powerloss: %w", err))
	}
	fds := []unix.PollFd{{Fd: int32(s.sock), Events: unix.POLLIN}}
	if n, err := pollRetry(fds, 60_000); n == 0 || err != nil {
		return s.abort(cmd, fmt.Errorf("powerloss: the launcher sent nothing in 60 s: %v", err))
	}
	msg, oob := make([]byte, 512), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(s.sock, msg, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil || n == 0 {
		return s.abort(cmd, fmt.Errorf("powerloss: the launcher died before sending its listener (%d bytes, %v)", n, err))
	}
	if text := string(msg[:n]); text != "ok" {
		_ = cmd.Wait()
		return fmt.Errorf("powerloss: %s: %w", strings.TrimPrefix(text, "unavailable: "), ErrUnavailable)
	}
	scms, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(scms) != 1 {
		return s.abort(cmd, fmt.Errorf("powerloss: no listener in the launcher's message: %v", err))
	}
	fds2, err := unix.ParseUnixRights(&scms[0])
	if err != nil || len(fds2) != 1 {
		return s.abort(cmd, fmt.Errorf("powerloss: no listener in the launcher's message: %v", err))
	}
	s.listener = fds2[0]
	// The calls are matched through /proc/TID/fd: a system that hides it
	// from us (a hardened ptrace scope, a foreign pid namespace) cannot run
	// the simulation, which is not the writer's fault.
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/fd/%d", cmd.Process.Pid, ackFD), &st); err != nil {
		_ = s.abort(cmd, err)
		return fmt.Errorf("powerloss: cannot read the writer's /proc/%d/fd: %v: %w", cmd.Process.Pid, err, ErrUnavailable)
	}
	if _, err := unix.Write(s.sock, []byte{1}); err != nil {
		return s.abort(cmd, fmt.Errorf("powerloss: release the launcher: %w", err))
	}
	return nil
}

func (s *supervisor) abort(cmd *exec.Cmd, err error) error {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return err
}

func pollRetry(fds []unix.PollFd, ms int) (int, error) {
	for {
		n, err := unix.Poll(fds, ms)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// run serves notifications and acknowledgements until the writer exits.
func (s *supervisor) run(ctx context.Context, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fds := []unix.PollFd{{Fd: int32(s.listener), Events: unix.POLLIN}, {Fd: int32(s.ack), Events: unix.POLLIN}}
	var exitErr error
loop:
	for {
		if _, err := pollRetry(fds, 50); err != nil {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("powerloss: poll: %w", err)
		}
		if fds[1].Revents != 0 {
			if s.drainAcks() {
				fds[1].Fd = -1 // the writer closed its end
			}
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			if err := s.serve(); err != nil {
				_ = cmd.Process.Kill()
				<-done
				return err
			}
		}
		hup := fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
		select {
		case exitErr = <-done:
			break loop
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("powerloss: the writer was killed: %w", ctx.Err())
		default:
		}
		if hup {
			// Every task under the filter is gone; Wait returns shortly.
			fds[0].Fd = -1
		}
	}
	for !s.drainAcks() {
		time.Sleep(time.Millisecond) // the pipe's writer is gone: EOF comes at once
	}
	if len(s.partial) > 0 {
		s.tr.addLine(string(s.partial))
	}
	k := s.tr.addCall(Call{Name: "exit", On: OnNothing})
	if err := s.observe(k, nil); err != nil {
		return err
	}
	if exitErr != nil {
		return fmt.Errorf("powerloss: the writer failed: %w", exitErr)
	}
	return nil
}

// drainAcks reads what the pipe holds; it reports true at end of file.
func (s *supervisor) drainAcks() bool {
	var b [4096]byte
	for {
		n, err := unix.Read(s.ack, b[:])
		if n > 0 {
			s.partial = append(s.partial, b[:n]...)
			for {
				i := bytes.IndexByte(s.partial, '\n')
				if i < 0 {
					break
				}
				s.tr.addLine(string(s.partial[:i]))
				s.partial = s.partial[i+1:]
			}
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n == 0 && err == nil
	}
}

// serve takes one notification, records the call if it concerns the watched
// file, and lets it proceed.
func (s *supervisor) serve() error {
	var req seccompNotif
	if err := notifRecv(s.listener, &req); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINTR) {
			return nil // the caller died, or a signal: nothing to answer
		}
		return fmt.Errorf("powerloss: receive a notification: %w", err)
	}
	call, ok := s.classify(&req)
	if ok && notifValid(s.listener, req.ID) {
		s.drainAcks()
		if err := s.record(call); err != nil {
			_ = notifContinue(s.listener, req.ID)
			return err
		}
	} else if !ok {
		s.tr.Ignored++
	}
	if err := notifContinue(s.listener, req.ID); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("powerloss: let %s proceed: %w", call.Name, err)
	}
	return nil
}

// record adds a held call, the state at its entry and what it makes durable.
func (s *supervisor) record(c Call) error {
	k := s.tr.addCall(c)
	var other *os.File
	if c.On == OnOther {
		if f := s.files[c.Ino]; f != nil {
			other = f
		} else if f, err := os.Open(fmt.Sprintf("/proc/%d/fd/%d", c.TID, c.fd)); err == nil {
			s.files[c.Ino] = f
			other = f
		}
	}
	if err := s.observe(k, other); err != nil {
		return err
	}
	switch c.Name {
	case "fsync", "fdatasync":
		if c.On == OnDir {
			s.tr.syncName(k)
		} else {
			s.tr.syncFile(k, c.Ino)
		}
	case "msync":
		if c.Flags&unix.MS_SYNC != 0 {
			s.tr.syncRange(k, c.Ino, c.Off, c.Len)
		}
	case "sync", "syncfs":
		s.tr.syncAll(k)
	}
	return nil
}

// observe records the name's binding and the content of the bound inode (and
// of other, another file a call acted on) at the entry of call k.
func (s *supervisor) observe(k int, other *os.File) error {
	var st unix.Stat_t
	var bound uint64
	s.tr.Calls[k].Size = -1
	if err := unix.Stat(s.path, &st); err == nil {
		bound = st.Ino
	} else if !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("powerloss: stat %s: %w", s.path, err)
	}
	s.tr.observeBinding(k, bound)
	if bound != 0 {
		f := s.files[bound]
		if f == nil {
			var err error
			if f, err = os.Open(s.path); err != nil {
				return fmt.Errorf("powerloss: %w", err)
			}
			s.files[bound] = f
		}
		size, err := s.read(k, bound, f)
		if err != nil {
			return err
		}
		s.tr.Calls[k].Size = size
	}
	if other != nil {
		if ino := s.tr.Calls[k].Ino; ino != bound {
			if _, err := s.read(k, ino, other); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *supervisor) read(k int, ino uint64, f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("powerloss: %w", err)
	}
	size := fi.Size()
	if int64(cap(s.buf)) < size {
		s.buf = make([]byte, size)
	}
	b := s.buf[:size]
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("powerloss: read %s: %w", f.Name(), err)
	}
	s.tr.observeContent(k, ino, b[:n])
	return int64(n), nil
}
