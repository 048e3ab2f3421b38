package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

var (
	// yamlLineRE matches "line N: reason" from the YAML parser, also in
	// its "unmarshal errors:" list form.
	yamlLineRE = regexp.MustCompile(`(?s)^(?:unmarshal errors:\s*)?line (\d+): (.*)$`)
	// typeErrorRE matches a JSON value of the wrong type for its field.
	typeErrorRE = regexp.MustCompile(`^cannot unmarshal (.+) into Go struct field [^.]*\.(\S+) of type (\S+)$`)
	// spaceRE matches line breaks and the indentation after them.
	spaceRE = regexp.MustCompile(`\s*\n\s*`)
	// indexRE matches the list indexes of a field path.
	indexRE = regexp.MustCompile(`\[\d+\]`)
)

// errorsAt turns a decoding error into lineErrors, one per strict
// decoding error.
func (doc document) errorsAt(err error, prefix string) []lineError {
	if strictErr, ok := runtime.AsStrictDecodingError(err); ok {
		var errs []lineError
		for _, e := range strictErr.Errors() {
			errs = append(errs, doc.errorAt(e, prefix))
		}
		return errs
	}
	return []lineError{doc.errorAt(err, prefix)}
}

// errorAt turns a decoding error into a lineError, pointing at the line of
// the offending field when it can be told.
func (doc document) errorAt(err error, prefix string) lineError {
	line := doc.line
	reason := cleanReason(err.Error())
	var fieldErr interface{ FieldPath() string }
	if errors.As(err, &fieldErr) {
		// An unknown or duplicate field; a duplicate is found the second time.
		nth := 1
		if strings.HasPrefix(reason, "duplicate") {
			nth = 2
		}
		if n, ok := findKey(doc.text, fieldPath(fieldErr.FieldPath()), nth); ok {
			line = doc.line + n - 1
		}
	} else if m := typeErrorRE.FindStringSubmatch(reason); m != nil {
		reason = fmt.Sprintf("%s: cannot unmarshal %s into %s", m[2], m[1], m[3])
		if n, ok := findKey(doc.text, fieldPath(m[2]), 1); ok {
			line = doc.line + n - 1
		}
	} else if m := yamlLineRE.FindStringSubmatch(reason); m != nil && !doc.json {
		reason = m[2]
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			// The parser counts the end of a document without a final
			// line break as the line after it: the document's last line.
			line = doc.line + min(n, doc.lines()) - 1
		}
	}
	return lineError{line: line, reason: prefix + spaceRE.ReplaceAllString(reason, "; ")}
}

// lines returns the number of lines of the document, at least 1.
func (doc document) lines() int {
	n := bytes.Count(doc.text, []byte("\n"))
	if !bytes.HasSuffix(doc.text, []byte("\n")) {
		n++
	}
	return max(n, 1)
}

// fieldPath splits a field path such as "spec.rules[0].host" into keys.
func fieldPath(path string) []string {
	return strings.Split(indexRE.ReplaceAllString(path, ""), ".")
}

// goPrefixes are the prefixes that sigs.k8s.io/yaml and the standard
// library put in front of their errors.
var goPrefixes = []string{
	"error converting YAML to JSON: ",
	"error unmarshaling JSON: ",
	"while decoding JSON: ",
	"json: ",
	"yaml: ",
}

// mapKeyErrors start the errors of the YAML parser and sigs.k8s.io/yaml
// about map keys that are not strings. They go on to quote the key and
// value, which might be Secret data.
var mapKeyErrors = []string{"invalid map key", "unsupported map key"}

// cleanReason strips Go-internal prefixes from an error text, and what
// might be Secret data from errors about map keys.
func cleanReason(reason string) string {
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range goPrefixes {
			if rest, ok := strings.CutPrefix(reason, p); ok {
				reason, trimmed = rest, true
			}
		}
	}
	for _, p := range mapKeyErrors {
		if strings.HasPrefix(reason, p) {
			return p
		}
	}
	return reason
}

// findKey returns the 1-based line of text that holds the nth occurrence
// of the last key of path, looking for each key of path after the line of
// the previous one. It is a guess from the text, good enough to point a
// user at a typo.
func findKey(text []byte, path []string, nth int) (int, bool) {
	if len(path) == 0 {
		return 0, false
	}
	res := make([]*regexp.Regexp, len(path))
	for i, key := range path {
		q := regexp.QuoteMeta(key)
		res[i] = regexp.MustCompile(`(?:^|[\s{,-])(?:` + q + `|"` + q + `"|'` + q + `')\s*:`)
	}
	i := 0
	for n, line := range bytes.Split(text, []byte("\n")) {
		if !res[i].Match(line) {
			continue
		}
		if i < len(path)-1 {
			i++
			continue
		}
		if nth--; nth == 0 {
			return n + 1, true
		}
	}
	return 0, false
}
