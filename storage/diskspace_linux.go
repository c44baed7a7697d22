package storage

import "syscall"

// diskSpace reports the bytes available to this process and the size of the
// file system holding dir.
func diskSpace(dir string) (avail, total int64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, false
	}
	return int64(st.Bavail) * st.Bsize, int64(st.Blocks) * st.Bsize, true
}
