//go:build race

package main

// raceEnabled: the race detector multiplies memory and time, so the
// hostile suite does not bound memory and skips its largest files.
const raceEnabled = true
