package launch

import "syscall"

// sysProcAttr makes the kernel kill the child when the process that
// started it dies, whatever kills it. Pdeathsig follows the thread that
// forked the child; the Go runtime does not end its threads while the
// program runs (only one a goroutine stayed locked to), so in practice it
// is the process's death.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
