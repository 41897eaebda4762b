package steps

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
)

// Issue 10 item 3: the result names the secret file only once the secret the state records is in it.
func TestResultNamesTheSecretFileOnlyWhenWritten(t *testing.T) {
	in := validManual()
	in.SecretOut = filepath.Join(t.TempDir(), "client-secret")
	state, err := OpenState("", "72f988bf-86f1-41af-91ab-2d7cd011db47", in.AppName)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Inputs: in, TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", LoginHost: "login.microsoftonline.com", State: state,
		Backend: &backend.Manual{SecretOut: in.SecretOut}}
	const value = "Abc8Q~clientsecretvalue-0123456789abcdefg"
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	// Created, but the run stopped before the hand-off.
	state.Update(now, func(d *StateData) { d.Secret = &SecretRecord{KeyID: "k1", Hint: "Abc", Created: now} })
	if r := NewResult(env, nil, Report{}, nil); r.SecretFile != "" || r.Backend != backend.NameManual {
		t.Errorf("not written yet: secretFile %q, backend %q", r.SecretFile, r.Backend)
	}
	// Recorded as delivered, but the file holds another secret (or none).
	state.Update(now, func(d *StateData) { d.Secret.DeliveredTo = destination(env) })
	if r := NewResult(env, nil, Report{}, nil); r.SecretFile != "" {
		t.Errorf("file missing: secretFile %q", r.SecretFile)
	}
	if err := backend.WriteSecretFile(in.SecretOut, secret.New("Xyz"+value[3:])); err != nil {
		t.Fatal(err)
	}
	if r := NewResult(env, nil, Report{}, nil); r.SecretFile != "" {
		t.Errorf("file holds another secret: secretFile %q", r.SecretFile)
	}
	if err := backend.WriteSecretFile(in.SecretOut, secret.New(value)); err != nil {
		t.Fatal(err)
	}
	if r := NewResult(env, nil, Report{}, nil); r.SecretFile != in.SecretOut {
		t.Errorf("written: secretFile %q, want %q", r.SecretFile, in.SecretOut)
	}
}

// The on-demand step's line names what is provisioned as a person says it: never "0 users".
func TestPrincipalSummary(t *testing.T) {
	user := Principal{Type: "User", ID: "u"}
	group := Principal{Type: "Group", ID: "g"}
	for _, c := range []struct {
		ps   []Principal
		want string
	}{
		{[]Principal{group}, "1 group"},
		{[]Principal{user, user}, "2 users"},
		{[]Principal{user, group}, "1 group and 1 user"},
		{[]Principal{group, group, user, user}, "2 groups and 2 users"},
		{nil, "no users or groups"},
	} {
		if got := principalSummary(c.ps); got != c.want {
			t.Errorf("principalSummary(%v) = %q, want %q", c.ps, got, c.want)
		}
	}
}
