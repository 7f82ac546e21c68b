package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"mdcast/cmd/internal/daemon"
	"mdcast/subscriber"
)

var errHelp = errors.New("help")

// options are mdtail's flags after parsing.
type options struct {
	config      string
	channels    channelFlags
	iface       string
	file        string
	instrument  string
	types       string
	json        bool
	stats       bool
	summaryJSON bool
	quiet       bool
	count       uint64
	duration    time.Duration
	lateJoin    int
}

// channelFlags collects repeated -channel group:port[,request=ip:port][,name=N][,format=itch|quote].
type channelFlags []subscriber.ChannelConfig

func (c *channelFlags) String() string { return fmt.Sprint(len(*c), " channels") }

func (c *channelFlags) Set(v string) error {
	parts := strings.Split(v, ",")
	ch := subscriber.ChannelConfig{Group: parts[0]}
	if _, err := netip.ParseAddrPort(parts[0]); err != nil {
		return fmt.Errorf("%q: group is not an ip:port", v)
	}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("%q: %q is not key=value", v, p)
		}
		switch k {
		case "request":
			ch.RequestAddr = val
		case "name":
			ch.Name = val
		case "format":
			if err := ch.Format.UnmarshalText([]byte(val)); err != nil {
				return fmt.Errorf("%q: %v", v, err)
			}
		default:
			return fmt.Errorf("%q: unknown key %q (want request, name or format)", v, k)
		}
	}
	*c = append(*c, ch)
	return nil
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("mdtail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "mdcastd config `file`: follow every channel it publishes")
	fs.Var(&o.channels, "channel", "channel `group:port[,request=ip:port][,name=N][,format=itch|quote]` (repeatable)")
	fs.StringVar(&o.iface, "i", "", "interface name or IPv4 address to join on (default: the config's, else lo)")
	fs.StringVar(&o.file, "r", "", "read a pcap/pcapng capture or a NASDAQ BinaryFILE instead of the network")
	fs.StringVar(&o.instrument, "instrument", "", "only messages of this instrument: stock locate, quote instrument id or ITCH symbol")
	fs.StringVar(&o.types, "type", "", "only these message types, e.g. \"A,F,E\" or \"q\"")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per message")
	fs.BoolVar(&o.stats, "stats", false, "print per-channel rates, gaps and recoveries every second (stderr)")
	fs.BoolVar(&o.summaryJSON, "summary-json", false, "print a JSON summary at the end (packets, messages, by_type, gaps, malformed, ...)")
	fs.BoolVar(&o.quiet, "q", false, "do not print messages")
	fs.Uint64Var(&o.count, "n", 0, "stop after this many messages (0 = no limit)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0 = no limit)")
	fs.IntVar(&o.lateJoin, "history", 0, "on joining, first ask for this many messages of history")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.file == "" && o.config == "" && len(o.channels) == 0 {
		return o, errors.New("nothing to read: give -config, -channel or -r")
	}
	if o.file != "" && (o.config != "" || len(o.channels) > 0) {
		return o, errors.New("-r reads a file: do not combine it with -config or -channel")
	}
	if _, err := parseTypes(o.types); err != nil {
		return o, err
	}
	return o, nil
}

// subscriberConfig builds the subscriber configuration from -config and/or
// -channel and -i.
func (o options) subscriberConfig() (subscriber.Config, error) {
	var cfg subscriber.Config
	if o.config != "" {
		dc, err := daemon.Load(o.config)
		if err != nil {
			return cfg, err
		}
		cfg = dc.SubscriberConfig()
	}
	cfg.Channels = append(cfg.Channels, o.channels...)
	if o.iface != "" {
		cfg.Interface = o.iface
	}
	cfg.LateJoin.History = o.lateJoin
	return cfg, cfg.Validate()
}

// parseTypes turns "A,F,E" or "AFE" into a set of type bytes (nil = all).
func parseTypes(s string) (*[256]bool, error) {
	if s == "" {
		return nil, nil
	}
	var set [256]bool
	for _, r := range strings.ReplaceAll(s, ",", "") {
		if r > 0x7e || r < 0x21 {
			return nil, fmt.Errorf("-type %q: %q is not a message type letter", s, r)
		}
		set[byte(r)] = true
	}
	return &set, nil
}

// instrumentFilter matches -instrument: a number (stock locate or quote
// instrument id) or an ITCH symbol (matched by the locate its Stock
// Directory message announced, or by a message's own Stock field).
type instrumentFilter struct {
	key    uint32
	symbol string
	locate map[uint16]bool
}

func newInstrumentFilter(s string) *instrumentFilter {
	if s == "" {
		return nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return &instrumentFilter{key: uint32(n)}
	}
	return &instrumentFilter{symbol: strings.ToUpper(s), locate: map[uint16]bool{}}
}
