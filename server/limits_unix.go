//go:build unix

package server

import "syscall"

// openFileLimit returns the process's open-file limit (the soft one, which
// the Go runtime raises to the hard one at start), or 0 when unknown.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur == ^uint64(0) { // RLIM_INFINITY
		return 0
	}
	return rl.Cur
}
