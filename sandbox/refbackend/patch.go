package refbackend

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"
)

// applyPatch applies validated PATCH operations (RFC 7644 §3.5.2) to attrs in order. The library validates the
// operations against the schema; applying them is the handler's job. Ops arrive lowercased by the library, so
// Entra's "Replace" and the aadOptscim062020 "replace" are the same here.
func (rs resourceSchema) applyPatch(attrs map[string]any, ops []scim.PatchOperation) error {
	for _, op := range ops {
		if err := rs.applyOperation(attrs, op); err != nil {
			return err
		}
	}
	return nil
}

func (rs resourceSchema) applyOperation(attrs map[string]any, op scim.PatchOperation) error {
	if op.Path != nil {
		return rs.applyPath(attrs, op.Op, *op.Path, op.Value)
	}
	// No path: the value is a map whose keys are themselves paths. Entra's aadOptscim062020 dialect sends dotted
	// and URN-qualified keys ("name.givenName", "urn:…:enterprise:2.0:User:employeeNumber"); RFC clients send an
	// extension's attributes nested under its URN. The library has validated each key and its value already.
	values, ok := op.Value.(map[string]any)
	if !ok {
		return invalidValue("an operation without a path needs an object value")
	}
	for _, key := range sortedKeys(values) {
		if ext, ok := rs.extension(key); ok {
			nested, ok := values[key].(map[string]any)
			if !ok {
				return invalidValue(fmt.Sprintf("the value of %s must be an object", key))
			}
			for _, name := range sortedKeys(nested) {
				if err := rs.applyKey(attrs, op.Op, ext.ID+":"+name, nested[name]); err != nil {
					return err
				}
			}
			continue
		}
		if err := rs.applyKey(attrs, op.Op, key, values[key]); err != nil {
			return err
		}
	}
	return nil
}

func (rs resourceSchema) applyKey(attrs map[string]any, op, key string, value any) error {
	path, err := filter.ParsePath([]byte(key))
	if err != nil {
		return invalidPath(fmt.Sprintf("%q is not a valid attribute path", key))
	}
	return rs.applyPath(attrs, op, path, value)
}

func (rs resourceSchema) applyPath(attrs map[string]any, op string, path filter.Path, value any) error {
	loc, err := rs.locate(path)
	if err != nil {
		return invalidPath(err.Error())
	}
	container := loc.container(attrs, op != scim.PatchOperationRemove)
	if container == nil {
		return nil // removing from an extension the resource does not have
	}
	switch {
	case loc.filter != nil:
		err = loc.applyFiltered(container, op, value)
	case loc.sub != "":
		loc.applySub(container, op, value)
	default:
		err = loc.applyWhole(container, op, value)
	}
	if loc.extension != "" && len(container) == 0 {
		delete(attrs, loc.extension)
	}
	return err
}

// applyWhole handles a path naming a whole attribute: "active", "name", "members".
func (loc location) applyWhole(container map[string]any, op string, value any) error {
	name := loc.attr.Name()
	multi := loc.attr.MultiValued()
	complexAttr := loc.attr.AttributeType() == "complex"
	switch op {
	case scim.PatchOperationRemove:
		if multi && value != nil {
			// Entra's default dialect removes group members this way: path "members" and the members to drop
			// as the value, matched by their "value" (the member id).
			kept := removeElements(asList(container[name]), asList(value))
			setOrDelete(container, name, kept)
			return nil
		}
		delete(container, name)
	case scim.PatchOperationAdd:
		switch {
		case multi:
			setOrDelete(container, name, appendElements(asList(container[name]), asList(value)))
		case complexAttr:
			mergeInto(container, name, value)
		default:
			container[name] = value
		}
	case scim.PatchOperationReplace:
		switch {
		case multi:
			setOrDelete(container, name, asList(value))
		case complexAttr:
			// RFC 7644 §3.5.2.3: sub-attributes not in the value are left unchanged.
			mergeInto(container, name, value)
		default:
			container[name] = value
		}
	default:
		return invalidValue(fmt.Sprintf("unknown PATCH op %q", op))
	}
	return nil
}

// applySub handles "name.givenName": a sub-attribute of a complex attribute, or of every element of a
// multi-valued one (RFC 7644 §3.5.2.3 without a filter).
func (loc location) applySub(container map[string]any, op string, value any) {
	name := loc.attr.Name()
	if loc.attr.MultiValued() {
		list := asList(container[name])
		for _, elem := range list {
			if m, ok := elem.(map[string]any); ok {
				setSub(m, loc.sub, op, value)
			}
		}
		setOrDelete(container, name, list)
		return
	}
	m, ok := container[name].(map[string]any)
	if !ok {
		if op == scim.PatchOperationRemove {
			return
		}
		m = map[string]any{}
		container[name] = m
	}
	setSub(m, loc.sub, op, value)
	if len(m) == 0 {
		delete(container, name)
	}
}

// applyFiltered handles `emails[type eq "work"].value` and `members[value eq "…"]`.
func (loc location) applyFiltered(container map[string]any, op string, value any) error {
	name := loc.attr.Name()
	if !loc.attr.MultiValued() {
		return invalidPath(fmt.Sprintf("%s is not multi-valued, so it takes no value filter", name))
	}
	list := asList(container[name])
	hits := loc.matches(list)
	switch op {
	case scim.PatchOperationRemove:
		if loc.sub != "" {
			for _, i := range hits {
				delete(list[i].(map[string]any), loc.sub)
			}
			setOrDelete(container, name, list)
			return nil
		}
		kept := list[:0:0]
		for i, elem := range list {
			if !slices.Contains(hits, i) {
				kept = append(kept, elem)
			}
		}
		setOrDelete(container, name, kept)
		return nil
	case scim.PatchOperationAdd, scim.PatchOperationReplace:
		if len(hits) == 0 {
			// RFC 7644 would answer noTarget for replace, but Entra sends `Replace emails[type eq "work"].value`
			// for a user created without that email, and Microsoft's reference target creates the element. Seed
			// it from the filter's equality terms so it matches the filter afterwards.
			elem := loc.seed()
			if loc.sub != "" {
				elem[loc.sub] = value
			} else if m, ok := value.(map[string]any); ok {
				for k, v := range m {
					elem[k] = v
				}
			}
			container[name] = append(list, elem)
			return nil
		}
		for _, i := range hits {
			elem := list[i].(map[string]any)
			if loc.sub != "" {
				elem[loc.sub] = value
			} else if m, ok := value.(map[string]any); ok {
				for k, v := range m {
					elem[k] = v
				}
			}
		}
		container[name] = list
		return nil
	}
	return invalidValue(fmt.Sprintf("unknown PATCH op %q", op))
}

// seed builds a new element from the equality terms of the value filter: `type eq "work"` gives {"type":"work"}.
func (loc location) seed() map[string]any {
	elem := map[string]any{}
	var walk func(e filter.Expression)
	walk = func(e filter.Expression) {
		switch e := e.(type) {
		case *filter.AttributeExpression:
			if e.Operator != filter.EQ || e.AttributePath.SubAttribute != nil {
				return
			}
			if sub, ok := loc.attr.SubAttributes().ContainsAttribute(e.AttributePath.AttributeName); ok {
				elem[sub.Name()] = e.CompareValue
			}
		case *filter.LogicalExpression:
			if e.Operator == filter.AND {
				walk(e.Left)
				walk(e.Right)
			}
		}
	}
	walk(loc.filter)
	return elem
}

func setSub(m map[string]any, sub, op string, value any) {
	if op == scim.PatchOperationRemove {
		delete(m, sub)
		return
	}
	m[sub] = value
}

func mergeInto(container map[string]any, name string, value any) {
	update, ok := value.(map[string]any)
	if !ok {
		container[name] = value
		return
	}
	current, ok := container[name].(map[string]any)
	if !ok {
		current = map[string]any{}
	}
	for k, v := range update {
		current[k] = v
	}
	setOrDelete(container, name, current)
}

// setOrDelete stores value, or drops the attribute when it became empty: SCIM treats an empty multi-valued or
// complex attribute as unassigned (RFC 7643 §2.5).
func setOrDelete(container map[string]any, name string, value any) {
	switch v := value.(type) {
	case []any:
		if len(v) == 0 {
			delete(container, name)
			return
		}
	case map[string]any:
		if len(v) == 0 {
			delete(container, name)
			return
		}
	}
	container[name] = value
}

func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// appendElements adds elements not already present (RFC 7644 §3.5.2.1: adding an existing value changes nothing).
func appendElements(list, add []any) []any {
	for _, elem := range add {
		if !containsElement(list, elem) {
			list = append(list, elem)
		}
	}
	return list
}

func removeElements(list, drop []any) []any {
	kept := list[:0:0]
	for _, elem := range list {
		if !containsElement(drop, elem) {
			kept = append(kept, elem)
		}
	}
	return kept
}

func containsElement(list []any, elem any) bool {
	for _, e := range list {
		if sameElement(e, elem) {
			return true
		}
	}
	return false
}

// sameElement compares multi-valued elements by their "value" sub-attribute when both have one (a member is the
// same member whatever its $ref or display), else by deep equality.
func sameElement(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		av, aHas := am["value"]
		bv, bHas := bm["value"]
		if aHas && bHas {
			return reflect.DeepEqual(av, bv)
		}
	}
	return reflect.DeepEqual(a, b)
}

func invalidValue(detail string) error {
	e := scimerrors.ScimErrorInvalidValue
	e.Detail = detail
	return e
}

func invalidPath(detail string) error {
	e := scimerrors.ScimErrorInvalidPath
	e.Detail = detail
	return e
}
