// Package capture reads recorded market data for replay and tests: NASDAQ
// BinaryFILE files (a stream of [u16 length][ITCH message] records) and
// pcap/pcapng captures, from which it yields the UDP payloads of
// Ethernet/IPv4 frames together with their capture time and addresses.
//
// # Errors
//
// Structural errors of a file (a bad header, a record cut short) are returned
// as error values and end the stream. Frames that are not UDP over IPv4, IP
// fragments, and frames whose headers are malformed or cut by the snap length
// are skipped and counted in Stats; they are not errors. Nothing panics on any
// input: the pcap parsers of github.com/gopacket/gopacket/pcapgo are called
// behind a recover that turns a panic into ErrCorrupt.
//
// # Concurrency and allocation
//
// A reader is used by one goroutine. The slices it returns alias its internal
// buffer and are valid until the next call to Next. Next does not allocate in
// steady state for BinaryFILE; the pcap reader reuses gopacket's zero-copy
// buffer and allocates only when a larger frame arrives. Stats may be read
// from any goroutine.
package capture
