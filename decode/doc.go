// Package decode provides zero-copy views over MoldUDP64 packets, NASDAQ
// TotalView-ITCH 5.0 messages and mdcast quotes, and encoders for each.
package decode
