package runner

import (
	"encoding/json"
	"slices"
)

// js is a piece of JSON Schema.
type js = map[string]any

func ref(def string) js { return js{"$ref": "#/definitions/" + def} }

// object is a mapping with exactly these keys, of which required must be
// there: editors flag a misspelt key as the decoder does.
func object(props js, required ...string) js {
	o := js{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func anyOf(alts ...js) js { return js{"anyOf": alts} }

func listOfSchema(items js) js { return js{"type": "array", "items": items} }

func enum[T any](values []T) js { return js{"enum": values} }

func described(s js, doc string) js {
	s["description"] = doc
	return s
}

var (
	strSchema  = func() js { return js{"type": "string"} }
	boolSchema = func() js { return js{"type": "boolean"} }
	intSchema  = func(lo, hi int) js { return js{"type": "integer", "minimum": lo, "maximum": hi} }
)

// Schema returns the JSON Schema (draft 7) of the spec language,
// made from the same tables as the decoder: the steps, matchers, data
// forms and behaviours. Editors that read it (yaml-language-server)
// complete keys and flag mistakes as one types.
func Schema() []byte {
	var steps []any
	for _, k := range stepKinds() {
		steps = append(steps, ref("step_"+k.name))
	}
	var scriptSteps []any
	for _, k := range stepKinds() {
		if k.server {
			scriptSteps = append(scriptSteps, ref("step_"+k.name))
		}
	}
	forms := dataFormProps()
	defs := js{
		"duration": js{"type": "string", "pattern": `^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`,
			"description": "a Go duration: 250ms, 2s, 1m30s"},
		"name":      js{"type": "string", "minLength": 1},
		"command":   anyOf(described(strSchema(), "a command line, split into words like a shell's (no shell runs it)"), js{"type": "array", "items": strSchema(), "minItems": 1}),
		"data":      anyOf(js{"type": []string{"string", "number", "boolean"}}, listOfSchema(ref("data")), ref("data_form")),
		"data_form": js{"type": "object", "properties": forms, "additionalProperties": false, "minProperties": 1},
		// A matcher: DATA, or a mapping with one matcher key (or a data form).
		"matcher": anyOf(js{"type": []string{"string", "number", "boolean"}}, listOfSchema(ref("data")),
			js{"type": "object", "properties": matcherProps(), "additionalProperties": false, "minProperties": 1}),
		"exit": anyOf(intSchema(0, 255), enum([]string{"nonzero", "any"}), listOfSchema(intSchema(0, 255)),
			object(js{"signal": enum(signalNames())}, "signal")),
		"steps":        listOfSchema(ref("step")),
		"script_steps": listOfSchema(js{"anyOf": scriptSteps}),
		"step":         js{"oneOf": steps},
		"server":       serverSchema(),
		"positions":    pickerSchema(),
		"faults_back":  faultsSchema(false),
		"test":         testSchema(),
	}
	for _, k := range stepKinds() {
		defs["step_"+k.name] = object(js{k.name: described(k.schema(), k.doc)}, k.name)
	}
	root := object(js{
		"name":    strSchema(),
		"about":   described(strSchema(), "the assignment, in prose"),
		"timeout": described(ref("duration"), "the default deadline of each step (default 2s)"),
		"vars": js{"type": "object", "additionalProperties": js{"type": []string{"string", "null"}},
			"description": "vars for {{NAME}}; one with no value (~) must be given with --var"},
		"servers": js{"type": "object", "additionalProperties": ref("server")},
		"tests":   js{"type": "array", "items": ref("test"), "minItems": 1},
	}, "tests")
	// Draft 7: what yaml-language-server, and so most editors, read.
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = "https://github.com/sockrun/sockrun/specs/sockrun.schema.json"
	root["title"] = "sockrun spec"
	root["definitions"] = defs
	b, _ := json.MarshalIndent(root, "", "  ")
	return append(b, '\n')
}

// dataFormProps are the keys of DATA's mapping forms, from the data table.
func dataFormProps() js {
	forms := js{"of": ref("data")}
	for _, k := range dataKinds() {
		forms[k.name] = described(clone(k.schema), k.doc)
	}
	return forms
}

// matcherProps are the keys a matcher's mapping may have: the matchers'
// own, from the matcher table, and DATA's forms, written inline.
func matcherProps() js {
	props := dataFormProps()
	for _, k := range matcherKinds() {
		props[k.name] = described(k.schema(), k.doc)
	}
	return props
}

func clone(s js) js { return merge(s, nil) }

func merge(a, b js) js {
	out := js{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// serverSchema is the schema of a server; TestSchemaKeys checks that it
// has every key serverKeys has.
func serverSchema() js {
	return object(js{
		"type": enum([]string{Stream, Dgram}),
		"host": described(strSchema(), "the address to bind or reach (default 127.0.0.1)"),
		"port": described(anyOf(intSchema(0, 65535), js{"const": "same"}),
			"0 (the default): any free port; same: the port of the program it is a socket of (socket_of:)"),
		"socket_of": described(ref("name"), "the program server this is a further socket of: one program, several sockets"),
		"path":      described(strSchema(), "a Unix socket path; a bare name is a fresh file per instance"),
		"behaviour": enum(behaviourNames()),
		"script":    ref("script_steps"),
		"loop":      boolSchema(),
		"run":       described(ref("command"), "a program under test"),
		"ready":     ref("duration"),
		"dir":       strSchema(),
		"env":       js{"type": "object", "additionalProperties": strSchema()},
		"tls": described(anyOf(boolSchema(), enum([]string{"starttls"}),
			object(js{"starttls": boolSchema(), "alpn": anyOf(strSchema(), listOfSchema(strSchema()))})),
			"a certificate sockrun makes: true (TLS from the first byte), starttls (plain text until a starttls step)"),
		"proxy":  described(ref("name"), "forward to this server, with faults: on the way"),
		"faults": faultsSchema(true),
		"seed":   described(js{"type": "integer", "minimum": 0}, "the seed of the random faults ({rate: P}); default 1"),
		"files": js{"type": "object", "propertyNames": js{"pattern": fileKeyRE.String()},
			"additionalProperties": anyOf(strSchema(), object(js{"name": strSchema(), "text": strSchema()}, "text"))},
		"limits": limitsSchema(),
	})
}

func testSchema() js {
	return object(js{
		"name":    ref("name"),
		"points":  intSchema(0, 1_000_000),
		"hidden":  boolSchema(),
		"hint":    strSchema(),
		"timeout": ref("duration"),
		"servers": listOfSchema(ref("name")),
		"steps":   js{"type": "array", "items": ref("step"), "minItems": 1},
	}, "name", "steps")
}

// schemaKeys lists the keys a schema object allows, for the tests.
func schemaKeys(o js) []string {
	var out []string
	for k := range o["properties"].(js) {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
