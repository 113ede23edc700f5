//go:build !linux

package launch

import "syscall"

// sysProcAttr is nil where there is no parent-death signal: there the
// context, the test's cleanup or Stop are what end a process.
func sysProcAttr() *syscall.SysProcAttr { return nil }
