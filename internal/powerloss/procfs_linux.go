//go:build linux && (amd64 || arm64)

package powerloss

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// classify turns a notification into a Call, reporting false for a call on
// something other than the watched file, another file in its directory, the
// directory itself or the whole file system it is on.
func (s *supervisor) classify(req *seccompNotif) (Call, bool) {
	a := req.Data.Args
	c := Call{Name: callName(req.Data.Nr), TID: int(req.Pid)}
	switch c.Name {
	case "sync":
		c.On = OnAll
		return c, true
	case "msync":
		c.Flags = a[2]
		ino, name, off, ok := s.mapped(c.TID, a[0])
		if !ok {
			return c, false
		}
		c.Ino, c.Off, c.Len = ino, off, int64(a[1])
		c.On = s.regular(ino, name)
		return c, c.On != 0
	}
	c.fd = int(int32(a[0]))
	link := fmt.Sprintf("/proc/%d/fd/%d", c.TID, c.fd)
	var st unix.Stat_t
	if err := unix.Stat(link, &st); err != nil || st.Dev != s.dirDev {
		return c, false
	}
	name, _ := os.Readlink(link)
	c.Ino = st.Ino
	switch {
	case c.Name == "syncfs":
		c.On, c.Ino = OnAll, 0
	case st.Ino == s.dirIno:
		c.On = OnDir
	case st.Mode&unix.S_IFMT == unix.S_IFREG:
		c.On = s.regular(st.Ino, name)
	}
	switch c.Name {
	case "ftruncate":
		c.Len = int64(a[1])
	case "fallocate":
		c.Flags, c.Off, c.Len = a[1], int64(a[2]), int64(a[3])
	case "sync_file_range":
		c.Off, c.Len, c.Flags = int64(a[1]), int64(a[2]), a[3]
	}
	return c, c.On != 0
}

// regular tells the watched file (the inode its name is bound to now) from
// another file of its directory; 0 means neither.
func (s *supervisor) regular(ino uint64, name string) Target {
	var st unix.Stat_t
	if unix.Stat(s.path, &st) == nil && st.Dev == s.dirDev && st.Ino == ino {
		return OnFile
	}
	if filepath.Dir(strings.TrimSuffix(name, " (deleted)")) == s.dir {
		return OnOther
	}
	return 0
}

// mapped finds the file mapping that holds addr in the task's address space:
// its inode, path and the file offset of addr, if it is on the watched
// file's device.
func (s *supervisor) mapped(tid int, addr uint64) (ino uint64, name string, off int64, ok bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", tid))
	if err != nil {
		return 0, "", 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// start-end perms offset major:minor inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		lo, hi, found := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !found || err1 != nil || err2 != nil || addr < start || addr >= end {
			continue
		}
		fileOff, err3 := strconv.ParseUint(fields[2], 16, 64)
		maj, min, _ := strings.Cut(fields[3], ":")
		major, err4 := strconv.ParseUint(maj, 16, 32)
		minor, err5 := strconv.ParseUint(min, 16, 32)
		inode, err6 := strconv.ParseUint(fields[4], 10, 64)
		if err3 != nil || err4 != nil || err5 != nil || err6 != nil || inode == 0 ||
			unix.Mkdev(uint32(major), uint32(minor)) != s.dirDev {
			return 0, "", 0, false
		}
		return inode, strings.Join(fields[5:], " "), int64(fileOff + addr - start), true
	}
	return 0, "", 0, false
}
