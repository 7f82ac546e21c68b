package mcasttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// nsPrefix starts every namespace this package creates, followed by the
	// creating process's pid, so stale ones can be recognised and removed.
	nsPrefix = "mdct-"
	// HostIface is the name of each host's interface onto the bridge.
	HostIface = "e0"
	// cmdTimeout bounds every ip/nft command.
	cmdTimeout = 30 * time.Second
	// readyTimeout bounds the wait for links to come up.
	readyTimeout = 20 * time.Second
)

var (
	networks  atomic.Uint32 // per-process counter for unique names
	hostNameR = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)
	subnet    = netip.MustParsePrefix("10.77.0.0/24")
)

// Network is a set of hosts, each in its own network namespace, joined by a
// bridge in another namespace.
type Network struct {
	sw    string // bridge namespace
	hosts []*Host
}

// Host is one namespace on a Network.
type Host struct {
	name string     // logical name given to NewNetwork
	ns   string     // namespace name under /var/run/netns
	addr netip.Addr // on HostIface
}

// NewNetwork creates a bridge namespace and one namespace per named host
// (lower-case letters and digits, starting with a letter, unique), each
// with interface e0 at 10.77.0.N/24 (N = 1, 2, ... in argument order), lo up,
// and a route for 224.0.0.0/4 through e0, so multicast leaves on e0 even from
// a sender that does not name its interface. The bridge does no IGMP
// snooping: every host sees every group's traffic at the link layer and
// filters by membership, as a hub would, so results do not depend on
// querier timing. t.Cleanup deletes all the namespaces.
//
// It skips t when not root, when the ip tool is missing, or when namespaces
// cannot be created here; later setup failures fail t.
func NewNetwork(t testing.TB, hosts ...string) *Network {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mcasttest: network namespaces need root")
	}
	for _, tool := range []string{"ip", "bridge"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("mcasttest: the %s tool (iproute2) is not installed", tool)
		}
	}
	if len(hosts) == 0 || len(hosts) > 250 {
		t.Fatalf("mcasttest: NewNetwork needs 1 to 250 hosts, got %d", len(hosts))
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if !hostNameR.MatchString(h) || seen[h] {
			t.Fatalf("mcasttest: host name %q: want a unique name of 1-16 lower-case letters and digits starting with a letter", h)
		}
		seen[h] = true
	}
	removeStale()

	id := fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), networks.Add(1))
	n := &Network{sw: id + "-sw"}
	if out, err := ip("netns", "add", n.sw); err != nil {
		t.Skipf("mcasttest: cannot create a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() { n.remove(t) })
	// The rest runs as one ip process per namespace in batch mode (one
	// command per line, stopping at the first failure, which it names):
	// first the root namespace's work, which creates the host namespaces
	// and the veth pairs, then the bridge's, then each host's.
	var root, sw strings.Builder
	line := func(b *strings.Builder, args ...string) { b.WriteString(strings.Join(args, " ") + "\n") }
	line(&sw, "link", "set", "lo", "up")
	line(&sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	line(&sw, "link", "set", "br0", "up")
	base := subnet.Addr().As4()
	hostCmds := make([]strings.Builder, len(hosts))
	for i, name := range hosts {
		h := &Host{name: name, ns: id + "-" + name}
		a := base
		a[3] = byte(i + 1)
		h.addr = netip.AddrFrom4(a)
		n.hosts = append(n.hosts, h)
		line(&root, "netns", "add", h.ns)
		// Both veth ends are created directly inside their namespaces, so
		// nothing appears in the root namespace even briefly. Interface
		// names are per namespace, so e0 and swN never clash.
		port := "sw" + strconv.Itoa(i)
		line(&root, "link", "add", HostIface, "netns", h.ns, "type", "veth", "peer", "name", port, "netns", n.sw)
		line(&sw, "link", "set", port, "master", "br0")
		line(&sw, "link", "set", port, "up")
		hb := &hostCmds[i]
		line(hb, "link", "set", "lo", "up")
		line(hb, "addr", "add", netip.PrefixFrom(h.addr, subnet.Bits()).String(), "dev", HostIface)
		line(hb, "link", "set", HostIface, "up")
		line(hb, "route", "add", "224.0.0.0/4", "dev", HostIface)
	}
	steps := []struct{ ns, cmds string }{{"", root.String()}, {n.sw, sw.String()}}
	for i, h := range n.hosts {
		steps = append(steps, struct{ ns, cmds string }{h.ns, hostCmds[i].String()})
	}
	for _, s := range steps {
		if out, err := ipBatch(s.ns, s.cmds); err != nil {
			t.Fatalf("mcasttest: building network %s (namespace %q): %v: %s", id, s.ns, err, out)
		}
	}
	if err := n.waitReady(readyTimeout); err != nil {
		t.Fatalf("mcasttest: network %s: %v", id, err)
	}
	return n
}

// Host returns the named host, or nil.
func (n *Network) Host(name string) *Host {
	for _, h := range n.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

// Hosts returns the hosts in NewNetwork's argument order.
func (n *Network) Hosts() []*Host { return append([]*Host(nil), n.hosts...) }

// Name returns the host's name as given to NewNetwork.
func (h *Host) Name() string { return h.name }

// Namespace returns the name of the host's namespace (for ip netns exec).
func (h *Host) Namespace() string { return h.ns }

// Addr returns the host's address on its interface e0.
func (h *Host) Addr() netip.Addr { return h.addr }

// Do runs fn on a locked OS thread switched into the host's network
// namespace, then switches the thread back. Sockets fn creates belong to
// the host for their whole life and may be used from any goroutine after
// Do returns; interface names fn resolves ("e0", "lo") are the host's.
// Goroutines fn starts run on other threads, in the root namespace. fn runs
// on a goroutine of its own: it must report failures through its error, not
// t.Fatal. Do returns fn's error, or why switching failed.
//
// If the thread cannot be switched back, it is never unlocked, so the
// runtime discards it instead of running other goroutines in the host.
func (h *Host) Do(fn func() error) error { return inNetns(h.ns, fn) }

// inNetns runs fn on a fresh locked thread inside namespace ns; see Do.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("mcasttest: open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("mcasttest: open netns %s: %w", ns, err)
			return
		}
		err = unix.Setns(target, unix.CLONE_NEWNET)
		unix.Close(target)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("mcasttest: setns %s: %w", ns, err)
			return
		}
		ferr := callCatching(fn)
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Stay locked: the goroutine exits and the thread dies with it.
			errc <- errors.Join(ferr, fmt.Errorf("mcasttest: setns back from %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// callCatching runs fn, turning a panic into an error so the thread is
// still switched back.
func callCatching(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mcasttest: Do: fn panicked: %v", r)
		}
	}()
	return fn()
}

// Run runs a command inside the host's namespace (ip netns exec) and
// returns its combined output.
func (h *Host) Run(args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("mcasttest: Run: no command")
	}
	return command(nil, "ip", append([]string{"netns", "exec", h.ns}, args...)...)
}

// DropUDP makes the host's input path drop about percent per cent of UDP
// datagrams to port, at random, with nftables (table inet mdcasttest, chain
// in on the input hook). Each call adds a rule; the rules go with the
// namespace. It skips t when the nft tool is missing.
func (h *Host) DropUDP(t testing.TB, port uint16, percent int) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("mcasttest: nft (nftables) is not installed; apt-get install -y nftables")
	}
	if percent < 0 || percent > 100 {
		t.Fatalf("mcasttest: DropUDP percent %d not in [0, 100]", percent)
	}
	cmds := [][]string{
		{"nft", "add", "table", "inet", "mdcasttest"},
		{"nft", "add", "chain", "inet", "mdcasttest", "in", "{", "type", "filter", "hook", "input", "priority", "0", ";", "}"},
		{"nft", "add", "rule", "inet", "mdcasttest", "in", "udp", "dport", strconv.Itoa(int(port)),
			"numgen", "random", "mod", "100", "<", strconv.Itoa(percent), "drop"},
	}
	for _, c := range cmds {
		if out, err := h.Run(c...); err != nil {
			t.Fatalf("mcasttest: %s on %s: %v: %s", strings.Join(c, " "), h.name, err, out)
		}
	}
}

// waitReady waits until every link can carry traffic. "ip link set up"
// returns before the kernel's link watcher has processed the carrier
// change, which it may delay by a second or more on a busy machine; until
// then a veth keeps the noop qdisc, which drops everything sent, and the
// bridge port stays disabled. So: each host's e0 and each bridge port must
// be RUNNING (operationally up, qdisc attached) and every bridge port in
// the forwarding state.
func (n *Network) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := n.ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("links not up after %v: %w", timeout, err)
		}
		time.Sleep(5 * time.Millisecond) // polling a kernel state, bounded by deadline
	}
}

func (n *Network) ready() error {
	for _, h := range n.hosts {
		if err := inNetns(h.ns, func() error { return running(HostIface) }); err != nil {
			return fmt.Errorf("host %s: %w", h.name, err)
		}
	}
	err := inNetns(n.sw, func() error {
		for i := range n.hosts {
			if err := running("sw" + strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	out, err := command(nil, "bridge", "-n", n.sw, "link", "show")
	if err != nil {
		return fmt.Errorf("bridge link show: %v: %s", err, out)
	}
	if fwd := strings.Count(string(out), "state forwarding"); fwd != len(n.hosts) {
		return fmt.Errorf("%d of %d bridge ports forwarding: %s", fwd, len(n.hosts), out)
	}
	return nil
}

// running checks an interface in the calling thread's namespace is
// operationally up (IFF_RUNNING).
func running(name string) error {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return err
	}
	if ifi.Flags&net.FlagRunning == 0 {
		return fmt.Errorf("%s not running (flags %v)", name, ifi.Flags)
	}
	return nil
}

// remove deletes the network's namespaces, which takes their links and
// nftables rules with them. Namespaces a failed setup never created are
// skipped.
func (n *Network) remove(t testing.TB) {
	var b strings.Builder
	for _, ns := range append([]string{n.sw}, n.nsNames()...) {
		if _, err := os.Stat("/var/run/netns/" + ns); err == nil {
			b.WriteString("netns del " + ns + "\n")
		}
	}
	if out, err := ipBatch("", b.String()); err != nil {
		t.Errorf("mcasttest: removing namespaces: %v: %s", err, out)
	}
}

func (n *Network) nsNames() []string {
	names := make([]string, len(n.hosts))
	for i, h := range n.hosts {
		names[i] = h.ns
	}
	return names
}

func ip(args ...string) ([]byte, error) { return command(nil, "ip", args...) }

// ipBatch runs ip -batch - over the given lines, in namespace ns ("" for
// the caller's own).
func ipBatch(ns, lines string) ([]byte, error) {
	if lines == "" {
		return nil, nil
	}
	args := []string{"-batch", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	return command(strings.NewReader(lines), "ip", args...)
}

func command(stdin io.Reader, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Stdin = stdin
	return c.CombinedOutput()
}

// removeStale deletes namespaces this package created in processes that
// no longer exist (a test binary killed before its cleanups ran).
func removeStale() {
	entries, err := os.ReadDir("/var/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			ip("netns", "del", e.Name())
		}
	}
}
