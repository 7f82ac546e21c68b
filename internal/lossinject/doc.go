// Package lossinject drops chosen packets on a receive path, deterministically,
// so tests (and the -loss switch) can exercise gap detection and recovery
// without a lossy network. It plays the part of Aeron's debug loss generator;
// tc netem is not available on these machines.
//
// A Config names a random drop rate, the seed of the generator that draws
// against it, and a list of sequence numbers to drop once each:
//
//	in := lossinject.New(lossinject.Config{Rate: 0.05, Seed: 7, Sequences: []uint64{10, 11, 500}})
//	if in.Drop(pkt.Sequence()) {
//		continue // as if the network had lost it
//	}
//
// The same Config, including the seed, gives the same decisions for the same
// sequence of Drop calls, in every run. Every Drop call draws exactly one
// random number, so a retransmitted packet is judged afresh rather than
// dropped forever, and the decisions do not depend on which sequences are
// listed. A listed sequence is dropped the first time it is seen only, so
// its retransmission gets through.
//
// # Concurrency and allocation
//
// An Injector belongs to one receive loop: Drop is not safe for concurrent
// use. Dropped and Stats may be read from any goroutine. New allocates; Drop
// does not. A nil *Injector is valid and never drops.
package lossinject
