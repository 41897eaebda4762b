package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const token = "s3cr3t-token-value-1234567890"

func TestValueNeverPrints(t *testing.T) {
	v := New(token)
	holder := struct {
		Name  string
		Token Value
	}{"x", v}
	// fmt cannot call String on unexported fields: the value must not print there either.
	hidden := struct {
		name  string
		token Value
	}{"x", v}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("msg", "token", v, "holder", holder)
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":             fmt.Sprintf("%v", v),
		"%s":             fmt.Sprintf("%s", v), //lint:ignore S1025 the test is of what fmt prints for %s
		"%+v":            fmt.Sprintf("%+v", holder),
		"%#v":            fmt.Sprintf("%#v", holder),
		"%+v unexported": fmt.Sprintf("%+v", hidden),
		"%#v unexported": fmt.Sprintf("%#v", hidden),
		"%q":             fmt.Sprintf("%q", v),
		"json":           string(js),
		"slog":           logged.String(),
	}
	for form, out := range outputs {
		if strings.Contains(out, token) || strings.Contains(out, "s3cr3t") {
			t.Errorf("%s printed the secret: %s", form, out)
		}
		if !strings.Contains(form, "unexported") && !strings.Contains(out, redacted) {
			t.Errorf("%s printed no redaction marker: %s", form, out)
		}
	}
	if v.Reveal() != token {
		t.Errorf("Reveal() = %q", v.Reveal())
	}
}

func TestScrub(t *testing.T) {
	got := Scrub("401 from server: bad token "+token+" sent", New(token), New(""))
	if strings.Contains(got, token) || !strings.Contains(got, redacted) {
		t.Errorf("Scrub left the secret: %s", got)
	}
}

func TestHint(t *testing.T) {
	if h := New(token).Hint(); h != "s3c" {
		t.Errorf("Hint() = %q", h)
	}
	if h := New("short").Hint(); h != "" {
		t.Errorf("short secret hint = %q, want empty", h)
	}
}
