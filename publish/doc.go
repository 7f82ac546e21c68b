// Package publish runs pinned workers that route messages to channels, frame them
// as MoldUDP64, send them in batches, and serve retransmission requests from each
// channel's history.
package publish
