package storage

import (
	"os"
	"syscall"
)

// datasync flushes f's data, and only the metadata needed to read it back
// (its size), as SQLite itself does on Linux: cheaper than a full fsync.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
