// Package perf generates open-loop load, records latency in HdrHistograms and
// renders reports.
package perf
