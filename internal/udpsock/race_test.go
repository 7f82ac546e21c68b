//go:build race

package udpsock_test

const raceEnabled = true
