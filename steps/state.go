package steps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// State is what idpctl remembers between runs of one setup (one tenant and application name): object ids,
// which client secret it created and whether that secret was handed over. It never holds a secret. It only
// speeds a re-run up and records facts the tenant cannot tell us; steps always find their objects in the
// tenant, so a lost state file never causes duplicates.
type State struct {
	path string
	mu   sync.Mutex
	data StateData
}

// StateData is the content of the state file.
type StateData struct {
	Version             int    `json:"version"`
	TenantID            string `json:"tenantId"`
	AppName             string `json:"appName"`
	ApplicationObjectID string `json:"applicationObjectId,omitempty"`
	AppID               string `json:"clientId,omitempty"`
	ServicePrincipalID  string `json:"servicePrincipalId,omitempty"`
	ProvisioningJobID   string `json:"provisioningJobId,omitempty"`
	// PendingDisplayName is the unique temporary name of an application being created, kept until the
	// application is found under its final name, so an interrupted create is found again instead of repeated.
	// PendingSince is when that create was sent: a later run looks for the name until the replication window
	// has passed since then, as Graph's lists may not show a new application before.
	PendingDisplayName string    `json:"pendingDisplayName,omitempty"`
	PendingSince       time.Time `json:"pendingSince,omitzero"`
	// AbandonedDisplayNames are earlier temporary names whose application had not appeared when the window
	// passed. One that appears later (the create did happen) is an orphan of idpctl's, and is removed.
	AbandonedDisplayNames []string `json:"abandonedDisplayNames,omitempty"`
	// ApplicationCreated and ProvisioningJobCreated are when idpctl created the application and the job: until
	// the replication window after them, a run that resumes a killed one waits out the answers replication
	// causes, as the run that created them would have.
	ApplicationCreated     time.Time `json:"applicationCreated,omitzero"`
	ProvisioningJobCreated time.Time `json:"provisioningJobCreated,omitzero"`
	// AssignedPrincipals are the users and groups idpctl assigned (lower-case object ids), AssignedAt when it
	// last did: Graph may not list a new assignment for a while, and a run right after must not plan it again.
	AssignedPrincipals []string  `json:"assignedPrincipals,omitempty"`
	AssignedAt         time.Time `json:"assignedAt,omitzero"`
	// ProvisioningJobPendingSince is when a create of the service principal's provisioning job was sent and not
	// yet answered; a later run looks for that job until the replication window has passed since then.
	ProvisioningJobPendingSince time.Time `json:"provisioningJobPendingSince,omitzero"`
	// Secret records the client secret idpctl created (its key id, never its value).
	Secret *SecretRecord `json:"clientSecret,omitempty"`
	// ProvisioningCredentials is a one-way fingerprint (SHA-256) of the SCIM URL and token last saved in the
	// tenant. Graph never returns saved credentials, so without it every re-run would have to write them again.
	ProvisioningCredentials string `json:"provisioningCredentialsFingerprint,omitempty"`
	// Setup is what setup was last asked to do, without secrets: the day-2 commands compare the tenant with it
	// (status) and reuse its backend and assignments, so they need not be given again.
	Setup     *Inputs   `json:"setup,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// SecretRecord describes a client secret idpctl created.
type SecretRecord struct {
	KeyID   string    `json:"keyId"`
	Hint    string    `json:"hint,omitempty"` // the first three characters, as Entra itself shows them
	Created time.Time `json:"created"`
	// DeliveredTo is where the secret went ("backend <url>" or "file <path>"); empty until it got there.
	DeliveredTo string `json:"deliveredTo,omitempty"`
}

const stateVersion = 1

// OpenState reads the state of the setup of appName in tenantID from dir, or starts an empty one. dir ""
// keeps the state in memory only.
func OpenState(dir, tenantID, appName string) (*State, error) {
	s := &State{data: StateData{Version: stateVersion, TenantID: tenantID, AppName: appName}}
	if dir == "" {
		return s, nil
	}
	s.path = filepath.Join(dir, stateFileName(tenantID, appName))
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file: %w", err)
	}
	var d StateData
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("state file %s is damaged (%v): delete it and run again; idpctl finds its objects in the tenant", s.path, err)
	}
	if d.Version != stateVersion || !strings.EqualFold(d.TenantID, tenantID) || d.AppName != appName {
		return nil, fmt.Errorf("state file %s belongs to another setup: delete it or use another --state-dir", s.path)
	}
	s.data = d
	return s, nil
}

// stateFileName keeps one file per tenant and application name. Both are reduced to [a-z0-9-]: the tenant id
// can come from a token's claims or Graph's answer, and a "/" or ".." in it must not move the file elsewhere.
func stateFileName(tenantID, appName string) string {
	return fmt.Sprintf("entra-%s-%s.json", fileNamePart(tenantID), fileNamePart(appName))
}

func fileNamePart(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// Path is the state file's path, or "" when the state is kept in memory.
func (s *State) Path() string { return s.path }

// Get returns a copy of the state.
func (s *State) Get() StateData {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data
	if d.Secret != nil {
		sec := *d.Secret
		d.Secret = &sec
	}
	if d.Setup != nil {
		in := d.Setup.clone()
		d.Setup = &in
	}
	return d
}

// Update changes the state and saves it at once, so that a run killed right after a write still remembers it.
func (s *State) Update(now time.Time, change func(*StateData)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(&s.data)
	s.data.UpdatedAt = now.UTC()
	if s.path == "" {
		return nil
	}
	raw, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, append(raw, '\n'))
}

// Clear forgets the setup: the state file is removed, so the tenant and application start afresh (teardown).
func (s *State) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = StateData{Version: stateVersion, TenantID: s.data.TenantID, AppName: s.data.AppName}
	if s.path == "" {
		return nil
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the state file: %w", err)
	}
	return nil
}

// writeFileAtomic writes a 0600 file through a temporary file and a rename, so a crash never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
