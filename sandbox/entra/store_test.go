package entra

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// deepCopy gives what a JSON round trip gives (the copy it replaced), shares nothing with the original, and
// turns values that are not JSON's own (typed slices, ints, times, nil maps) into what JSON reads back.
func TestDeepCopyIsAJSONRoundTrip(t *testing.T) {
	original := object{
		"id": "a", "n": 3.5, "ok": true, "none": nil, "nilMap": map[string]any(nil), "nilList": []any(nil),
		"nested": map[string]any{"list": []any{"x", 1.0, map[string]any{"deep": []any{false}}}},
		"typed":  []string{"p", "q"}, "int": 7, "when": time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC),
		"obj": object{"k": []object{{"v": "w"}}},
	}
	raw, err := json.Marshal(original)
	if err != nil {
		t.Fatal(err)
	}
	var want object
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	got := deepCopy(original)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deepCopy =\n%#v\nwant the JSON round trip\n%#v", got, want)
	}
	got["nested"].(map[string]any)["list"].([]any)[2].(map[string]any)["deep"].([]any)[0] = true
	if original["nested"].(map[string]any)["list"].([]any)[2].(map[string]any)["deep"].([]any)[0] != false {
		t.Error("the copy shares a nested slice with the original")
	}
	if deepCopy(nil) != nil {
		t.Error("deepCopy(nil) is not nil")
	}
}
