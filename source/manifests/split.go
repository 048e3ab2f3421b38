package manifests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// document is one manifest document of a file.
type document struct {
	// line is the 1-based line of the file where the document starts.
	line int
	// text is the document as written.
	text []byte
	// json says whether text is JSON rather than YAML.
	json bool
}

// lineError is an error at a line of a file.
type lineError struct {
	line   int
	reason string
}

// splitYAML splits a YAML stream into its documents, keeping the line where
// each one starts. It mirrors how utilyaml.YAMLReader consumes lines: every
// line that starts with "---" separates documents and belongs to none.
func splitYAML(content []byte) ([]document, *lineError) {
	lines := bytes.Split(content, []byte("\n"))
	next := 0 // index of the first line not yet consumed
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(content)))
	var docs []document
	for {
		text, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			line := next + 1
			for i := next; i < len(lines); i++ {
				if isBadSeparator(lines[i]) {
					line = i + 1
					break
				}
			}
			return nil, &lineError{line: line, reason: cleanReason(err.Error())}
		}
		// YAMLReader keeps a "---" line as content when it is the last
		// line and has no line break: then it starts the document.
		for next < len(lines) && bytes.HasPrefix(lines[next], []byte("---")) && !bytes.HasPrefix(text, lines[next]) {
			next++
		}
		docs = append(docs, document{line: next + 1, text: text})
		next += bytes.Count(text, []byte("\n"))
	}
}

// isBadSeparator reports whether line starts with "---" followed by
// something other than spaces or a comment, which YAMLReader rejects.
func isBadSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) > 0 && rest[0] != '#'
}

// splitJSON splits a stream of JSON values into documents.
func splitJSON(content []byte) ([]document, *lineError) {
	dec := json.NewDecoder(bytes.NewReader(content))
	var docs []document
	for {
		start := int(dec.InputOffset())
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			offset := len(content)
			var syntaxErr *json.SyntaxError
			if errors.As(err, &syntaxErr) {
				offset = int(syntaxErr.Offset)
			}
			return nil, &lineError{line: lineAt(content, offset), reason: cleanReason(err.Error())}
		}
		start += len(content[start:]) - len(bytes.TrimLeft(content[start:], " \t\r\n"))
		docs = append(docs, document{line: lineAt(content, start), text: raw, json: true})
	}
}

// lineAt returns the 1-based line of the byte at offset.
func lineAt(content []byte, offset int) int {
	offset = min(max(offset, 0), len(content))
	return 1 + bytes.Count(content[:offset], []byte("\n"))
}
