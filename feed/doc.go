// Package feed receives exchange feeds (UDP unicast or multicast on lines A and B,
// BinaryFILE and pcap replays), validates MoldUDP64 framing, arbitrates lines by
// sequence and publishes packets to a ring.
package feed
