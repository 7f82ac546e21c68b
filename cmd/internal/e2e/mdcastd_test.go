package e2e

import (
	"bufio"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mdcast/cmd/internal/daemon"
)

var (
	buildMu  sync.Mutex
	binDir   string
	binBuilt = map[string]error{}
)

// buildCmd builds one of the programs (once per test binary run) and
// returns the path of the executable.
func buildCmd(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if binDir == "" {
		d, err := os.MkdirTemp("", "mdcast-e2e-bin")
		if err != nil {
			t.Fatal(err)
		}
		binDir = d
	}
	path := filepath.Join(binDir, name)
	err, done := binBuilt[name]
	if !done {
		out, e := exec.Command("go", "build", "-o", path, "mdcast/cmd/"+name).CombinedOutput()
		if e != nil {
			err = &buildError{name, string(out), e}
		}
		binBuilt[name] = err
	}
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return path
}

type buildError struct {
	name, out string
	err       error
}

func (e *buildError) Error() string { return e.name + ": " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// startedLine matches mdcastd's readiness log line and captures the HTTP address.
var startedLine = regexp.MustCompile(`msg="mdcastd started".* http=(\S+)`)

// runMdcastd starts the built mdcastd with cfg and waits for its readiness
// line; it returns the command and the HTTP address.
func runMdcastd(t *testing.T, cfg daemon.Config) (*exec.Cmd, string) {
	t.Helper()
	return startMdcastd(t, cfg)
}

// startMdcastd writes cfg to a file, runs the built mdcastd on it (behind
// prefix, such as `ip netns exec NAME`, which execs the program so the
// process is mdcastd itself), kills it at the end of the test, and waits for
// its readiness line. It returns the command and the HTTP address the line
// names.
func startMdcastd(t *testing.T, cfg daemon.Config, prefix ...string) (*exec.Cmd, string) {
	t.Helper()
	bin := buildCmd(t, "mdcastd")
	b, err := cfg.TOML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mdcastd.toml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append(append([]string(nil), prefix...), bin), "-config", path)
	cmd := exec.Command(args[0], args[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var logMu sync.Mutex
	var log strings.Builder
	logged := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return log.String()
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			log.WriteString(line + "\n")
			logMu.Unlock()
			if m := startedLine.FindStringSubmatch(line); m != nil && !seen {
				seen = true
				ready <- m[1]
			}
		}
		close(ready)
	}()
	select {
	case addr, ok := <-ready:
		if !ok {
			t.Fatalf("mdcastd exited before it was ready:\n%s", logged())
		}
		return cmd, addr
	case <-time.After(20 * time.Second):
		t.Fatalf("mdcastd not ready after 20s:\n%s", logged())
	}
	return nil, ""
}

func TestMdcastdSIGTERMSendsEndOfSessionAndExitsZero(t *testing.T) {
	c := testConfig(t, 1)
	c.Log.Level = "info"
	readers := readersFor(t, c)
	cmd, httpAddr := runMdcastd(t, c)

	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "mdcast_channel_messages_total") {
		t.Fatalf("/metrics of the running mdcastd lacks channel counters")
	}

	const n = 2000
	sendPaced(t, newSender(t), quotePackets(feedSession, n, 20, 16), netip.MustParseAddrPort(c.Feed.Lines[0].Addr))
	waitFor(t, 10*time.Second, "the quotes", func() bool { return total(readers) >= n })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "end of session on every channel", func() bool {
		for _, r := range readers {
			if _, _, eos := r.snapshot(); eos == 0 {
				return false
			}
		}
		return true
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("mdcastd exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("mdcastd did not exit after SIGTERM")
	}
	checkQuotes(t, readers, n)
}

func TestMdcastdPrintConfigAndBadConfig(t *testing.T) {
	bin := buildCmd(t, "mdcastd")
	out, err := exec.Command(bin, "-print-config").Output()
	if err != nil {
		t.Fatal(err)
	}
	c, err := daemon.Parse(strings.NewReader(string(out)))
	if err != nil {
		t.Fatalf("-print-config output does not parse: %v", err)
	}
	if got := c.WithDefaults(); got.Feed.Lines[0].Addr != "127.0.0.1:31000" || len(got.Publish.Channels) != 4 {
		t.Fatalf("-print-config is not the loopback default: %+v", got.Feed.Lines)
	}
	path := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(path, []byte("[publish]\nmax_payload = 10\n"), 0o644)
	cmd := exec.Command(bin, "-config", path)
	msg, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("bad config: exit %v, want status 2; output %s", err, msg)
	}
	if !strings.Contains(string(msg), "max_payload 10") {
		t.Fatalf("bad config message does not name the field: %s", msg)
	}
}
