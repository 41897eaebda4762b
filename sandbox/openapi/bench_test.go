package openapi

import "testing"

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateRequest validates the application PATCH of step 2, a typical body.
func BenchmarkValidateRequest(b *testing.B) {
	s := spec(b)
	body := []byte(appPatchBody)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := s.ValidateRequest("PATCH", appPath, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateSchemaPUT validates the largest body idpctl sends: the whole synchronization schema.
func BenchmarkValidateSchemaPUT(b *testing.B) {
	s := spec(b)
	body := []byte(schemaBody(b))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := s.ValidateRequest("PUT", jobPath+"/schema", body); err != nil {
			b.Fatal(err)
		}
	}
}
