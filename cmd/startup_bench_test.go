package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkHelpStartup builds idpctl as `go build` does and stripped as a release does (-ldflags "-s -w": no
// symbol table, no DWARF; the release's -trimpath changes paths, not size), reports both sizes, then times
// `idpctl --help` of the stripped build: a process start, every package's initialisation (the Graph SDK's
// included) and cobra's help, what a person feels on every command.
//
//	go test -run '^$' -bench HelpStartup -benchtime 50x ./cmd
func BenchmarkHelpStartup(b *testing.B) {
	dir := b.TempDir()
	build := func(name string, flags ...string) (path string, size int64) {
		path = filepath.Join(dir, name)
		args := append(append([]string{"build", "-o", path}, flags...), "..")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.Fatalf("go %v: %v\n%s", args, err, out)
		}
		info, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		return path, info.Size()
	}
	_, plain := build("idpctl-plain")
	release, stripped := build("idpctl", "-ldflags", "-s -w")
	for b.Loop() {
		if out, err := exec.Command(release, "--help").CombinedOutput(); err != nil {
			b.Fatalf("idpctl --help: %v\n%s", err, out)
		}
	}
	b.ReportMetric(float64(plain)/(1<<20), "MiB-go-build")
	b.ReportMetric(float64(stripped)/(1<<20), "MiB-stripped")
}
