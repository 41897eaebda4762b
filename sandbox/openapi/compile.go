package openapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// document is the part of the OpenAPI file this package reads.
type document struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas       map[string]*rawSchema      `json:"schemas"`
		RequestBodies map[string]*rawRequestBody `json:"requestBodies"`
	} `json:"components"`
	Subset struct {
		OpenTypes []string `json:"openTypes"`
	} `json:"x-subset"`
}

type rawSchema struct {
	Ref        string                  `json:"$ref"`
	Type       string                  `json:"type"`
	Format     string                  `json:"format"`
	Pattern    string                  `json:"pattern"`
	Nullable   bool                    `json:"nullable"`
	Enum       []string                `json:"enum"`
	EnumFlags  *struct{ IsFlags bool } `json:"x-ms-enum-flags"`
	Properties map[string]*rawSchema   `json:"properties"`
	Items      *rawSchema              `json:"items"`
	AllOf      []*rawSchema            `json:"allOf"`
	AnyOf      []*rawSchema            `json:"anyOf"`
	OneOf      []*rawSchema            `json:"oneOf"`
}

type rawOperation struct {
	OperationID string          `json:"operationId"`
	RequestBody *rawRequestBody `json:"requestBody"`
}

type rawRequestBody struct {
	Ref      string `json:"$ref"`
	Required bool   `json:"required"`
	Content  map[string]struct {
		Schema *rawSchema `json:"schema"`
	} `json:"content"`
}

// schema is a compiled schema: what JSON it accepts and, for objects, the full table of property names
// (inherited ones included), so validation never walks the document again.
type schema struct {
	kind schemaKind
	name string // component name for named schemas, e.g. "microsoft.graph.webApplication"; "" when inline
	edm  string // the EDM type Graph names in messages, e.g. "Edm.Guid" or "microsoft.graph.attributeFlowType"

	// strings
	format  string
	pattern *regexp.Regexp
	enum    map[string]struct{}
	flags   bool // a flags enum: members joined by commas, e.g. "Add, Update, Delete"

	// numbers
	intBits int // 16, 32 or 64 for integer formats; 0 for any number

	// objects
	props     map[string]typeRef
	open      bool     // an OData open type (or derived from one): may carry directory extension properties
	directory bool     // derived from microsoft.graph.directoryObject: answered by the directory service
	ancestors []string // base types, nearest last, for "@odata.type" naming a derived type

	// arrays
	items typeRef
}

// typeRef is one use of a schema; nullability belongs to the use (anyOf [$ref, {nullable}]), not the schema.
type typeRef struct {
	s        *schema
	nullable bool
}

type schemaKind uint8

const (
	kindAny schemaKind = iota // {}: Edm.Untyped
	kindObject
	kindArray
	kindString
	kindBoolean
	kindNumber
	kindNumberOrString // oneOf [number, string, ReferenceNumeric]: Edm.Double that may be "INF", "-INF" or "NaN"
)

type compiler struct {
	doc       *document
	done      map[string]*schema
	openTypes map[string]bool
	patterns  map[string]*regexp.Regexp
}

func newCompiler(doc *document) *compiler {
	c := &compiler{
		doc:       doc,
		done:      make(map[string]*schema, len(doc.Components.Schemas)),
		openTypes: make(map[string]bool, len(doc.Subset.OpenTypes)),
		patterns:  make(map[string]*regexp.Regexp),
	}
	for _, t := range doc.Subset.OpenTypes {
		c.openTypes[t] = true
	}
	return c
}

const schemaRefPrefix = "#/components/schemas/"

// named compiles a component schema once. The *schema is registered before it is filled, so properties that
// refer back to it (navigation properties make cycles) get the same pointer.
func (c *compiler) named(name string) (*schema, error) {
	if s, ok := c.done[name]; ok {
		return s, nil
	}
	raw, ok := c.doc.Components.Schemas[name]
	if !ok {
		return nil, fmt.Errorf("openapi subset: schema %q is referenced but not defined", name)
	}
	s := &schema{name: name}
	c.done[name] = s
	if err := c.fill(s, raw); err != nil {
		return nil, fmt.Errorf("openapi subset: schema %s: %w", name, err)
	}
	return s, nil
}

// use compiles one occurrence of a schema: a $ref, an anyOf [$ref, nullable object], or an inline schema.
func (c *compiler) use(raw *rawSchema) (typeRef, error) {
	switch {
	case raw.Ref != "":
		s, err := c.ref(raw.Ref)
		return typeRef{s: s, nullable: raw.Nullable}, err
	case len(raw.AnyOf) > 0:
		var t typeRef
		for _, alt := range raw.AnyOf {
			switch {
			case alt.Ref != "" && t.s == nil:
				s, err := c.ref(alt.Ref)
				if err != nil {
					return typeRef{}, err
				}
				t.s = s
			case alt.Ref == "" && alt.Nullable && len(alt.Properties) == 0:
				t.nullable = true
			default:
				return typeRef{}, fmt.Errorf("anyOf other than [$ref, nullable object] is not supported")
			}
		}
		if t.s == nil {
			return typeRef{}, fmt.Errorf("anyOf without a $ref")
		}
		return t, nil
	default:
		s := &schema{}
		if err := c.fill(s, raw); err != nil {
			return typeRef{}, err
		}
		return typeRef{s: s, nullable: raw.Nullable}, nil
	}
}

func (c *compiler) ref(ref string) (*schema, error) {
	name, ok := strings.CutPrefix(ref, schemaRefPrefix)
	if !ok {
		return nil, fmt.Errorf("unsupported $ref %q", ref)
	}
	return c.named(name)
}

func (c *compiler) fill(s *schema, raw *rawSchema) error {
	switch {
	case len(raw.AllOf) > 0:
		return c.fillAllOf(s, raw)
	case len(raw.OneOf) > 0:
		return c.fillOneOf(s, raw)
	case len(raw.AnyOf) > 0 || raw.Ref != "":
		return fmt.Errorf("a named schema that is only a $ref or anyOf is not supported")
	}
	switch raw.Type {
	case "object":
		s.kind = kindObject
		s.edm = s.name
		s.open = c.openTypes[s.name]
		s.directory = s.name == "microsoft.graph.directoryObject"
		return c.addProperties(s, raw)
	case "array":
		if raw.Items == nil {
			return fmt.Errorf("array without items")
		}
		items, err := c.use(raw.Items)
		if err != nil {
			return err
		}
		s.kind, s.items = kindArray, items
		s.edm = "Collection(" + items.s.edm + ")"
	case "string":
		return c.fillString(s, raw)
	case "boolean":
		s.kind, s.edm = kindBoolean, "Edm.Boolean"
	case "number", "integer":
		s.kind = kindNumber
		s.edm, s.intBits = numberEDM(raw.Format)
	case "":
		s.kind, s.edm = kindAny, "Edm.Untyped"
	default:
		return fmt.Errorf("unsupported type %q", raw.Type)
	}
	return nil
}

// fillAllOf merges a derived type: the $ref entries are its base types (properties inherited), the inline
// entries add its own properties.
func (c *compiler) fillAllOf(s *schema, raw *rawSchema) error {
	s.kind = kindObject
	s.edm = s.name
	s.props = make(map[string]typeRef)
	s.open = c.openTypes[s.name]
	s.directory = s.name == "microsoft.graph.directoryObject"
	for _, part := range raw.AllOf {
		if part.Ref == "" {
			if err := c.addProperties(s, part); err != nil {
				return err
			}
			continue
		}
		base, err := c.ref(part.Ref)
		if err != nil {
			return err
		}
		if base.kind != kindObject {
			return fmt.Errorf("allOf base %s is not an object", base.name)
		}
		for name, p := range base.props {
			s.props[name] = p
		}
		// CSDL: a type derived from an open type is open (appRoleAssignment inherits directoryObject's openness).
		s.open = s.open || base.open
		s.directory = s.directory || base.directory
		s.ancestors = append(append(s.ancestors, base.ancestors...), base.name)
	}
	return nil
}

func (c *compiler) addProperties(s *schema, raw *rawSchema) error {
	if s.props == nil {
		s.props = make(map[string]typeRef, len(raw.Properties))
	}
	for name, p := range raw.Properties {
		if name == "@odata.type" {
			continue // an annotation, checked on its own (see walker.object)
		}
		t, err := c.use(p)
		if err != nil {
			return fmt.Errorf("property %s: %w", name, err)
		}
		s.props[name] = t
	}
	return nil
}

// fillOneOf handles the only oneOf the converter emits: a double or float that may also be written as one of
// the strings "INF", "-INF", "NaN" (ReferenceNumeric) or as a string.
func (c *compiler) fillOneOf(s *schema, raw *rawSchema) error {
	var number, str bool
	for _, alt := range raw.OneOf {
		switch {
		case alt.Type == "number":
			number = true
			s.edm, s.intBits = numberEDM(alt.Format)
		case alt.Type == "string", alt.Ref == schemaRefPrefix+"ReferenceNumeric":
			str = true
		default:
			return fmt.Errorf("unsupported oneOf alternative")
		}
	}
	if !number || !str {
		return fmt.Errorf("unsupported oneOf")
	}
	s.kind = kindNumberOrString
	return nil
}

func (c *compiler) fillString(s *schema, raw *rawSchema) error {
	s.kind = kindString
	s.format = raw.Format
	s.edm = stringEDM(raw.Format)
	if raw.Pattern != "" {
		re, ok := c.patterns[raw.Pattern]
		if !ok {
			var err error
			if re, err = regexp.Compile(raw.Pattern); err != nil {
				return fmt.Errorf("pattern %q: %w", raw.Pattern, err)
			}
			c.patterns[raw.Pattern] = re
		}
		s.pattern = re
	}
	if len(raw.Enum) > 0 {
		s.edm = s.name
		s.enum = make(map[string]struct{}, len(raw.Enum))
		for _, m := range raw.Enum {
			s.enum[m] = struct{}{}
		}
		s.flags = raw.EnumFlags != nil && raw.EnumFlags.IsFlags
	}
	return nil
}

func numberEDM(format string) (edm string, intBits int) {
	switch format {
	case "int16":
		return "Edm.Int16", 16
	case "int32":
		return "Edm.Int32", 32
	case "int64":
		return "Edm.Int64", 64
	case "float":
		return "Edm.Single", 0
	case "double":
		return "Edm.Double", 0
	default:
		return "Edm.Decimal", 0
	}
}

func stringEDM(format string) string {
	switch format {
	case "uuid":
		return "Edm.Guid"
	case "date-time":
		return "Edm.DateTimeOffset"
	case "date":
		return "Edm.Date"
	case "time":
		return "Edm.TimeOfDay"
	case "duration":
		return "Edm.Duration"
	case "base64url":
		return "Edm.Binary"
	default:
		return "Edm.String"
	}
}
