// Package e2e holds the end-to-end tests of mdcast: the daemon, the
// subscriber library and the programs, run together over loopback (and, as
// root, over network namespaces). It has no non-test code besides this
// comment.
package e2e
