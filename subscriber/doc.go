// Package subscriber is the embedded client library: it joins mdcast channels,
// repairs gaps by re-request, and hands every consumer its messages in order
// through the consumer's own local ring.
package subscriber
