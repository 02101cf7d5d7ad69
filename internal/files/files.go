// Package files opens the files the command line reads (.npy arrays,
// vector files) with the checks hostile input needs.
package files

import (
	"os"

	"github.com/torchloss/torchloss"
)

func kindOf(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeCharDevice != 0, m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.Type().String()
}

// OpenRegular opens name for reading if it is a regular file and returns
// its size; anything else (a FIFO, a device, a directory) is an ErrValue
// error naming it, without blocking on it.
func OpenRegular(name string) (*os.File, int64, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, torchloss.Errorf(torchloss.ErrValue, "open", name, "not a regular file (%s)", kindOf(fi.Mode()))
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, torchloss.Errorf(torchloss.ErrValue, "open", name, "not a regular file")
	}
	return f, fi.Size(), nil
}
