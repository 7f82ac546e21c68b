package main

import (
	"bufio"
	"context"
	"io"
)

// run is mdtail's whole job once the flags are parsed: print what it reads
// to stdout and, with -summary-json, the summary at the end.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	types, err := parseTypes(o.types)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	p := &printer{w: w, json: o.json, quiet: o.quiet || (o.summaryJSON && !o.json), types: types,
		inst: newInstrumentFilter(o.instrument), sum: &summary{}}
	if o.file != "" {
		err = runFile(ctx, o, p)
	} else {
		err = runLive(ctx, o, p, stderr)
	}
	if o.summaryJSON {
		if werr := p.sum.write(w); err == nil {
			err = werr
		}
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}
