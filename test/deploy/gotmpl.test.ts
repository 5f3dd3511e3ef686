// The chart tests trust gotmpl.ts to render like helm does; these pin the Go
// text/template and Sprig behaviours the chart depends on.
import { describe, expect, it } from 'vitest';
import { formatGoFloat, GoStruct, Renderer, TemplateError } from './gotmpl.js';

function render(src: string, data: unknown = {}, helpers = ''): string {
  const r = new Renderer();
  if (helpers) r.addFile('_helpers.tpl', helpers);
  r.addFile('t.yaml', src);
  return r.render('t.yaml', data);
}

describe('Go template subset', () => {
  it('trims whitespace on the marked side only', () => {
    expect(render('a  {{- "b" -}}  c')).toBe('abc');
    expect(render('a  {{ "b" -}}  c')).toBe('a  bc');
    expect(render('a\n  {{- "b" }}\nc')).toBe('ab\nc');
    // "{{-3}}" is the number -3, not a trim marker
    expect(render('a {{-3}}')).toBe('a -3');
  });

  it('trimPrefix and merge behave as Sprig\'s (the first map wins, later ones fill in, deeply)', () => {
    expect(render('{{ trimPrefix "/" "/guards" }} {{ trimPrefix "/" "guards" }}')).toBe('guards guards');
    const v = { user: { image: 'u', port: 1, nested: { a: 1 } } };
    expect(render('{{ $m := merge (dict "configMap" "cm" "image" "x" "nested" (dict "b" 2)) .user }}{{ $m.configMap }} {{ $m.image }} {{ $m.port }} {{ $m.nested.a }} {{ $m.nested.b }}', v)).toBe(
      'cm x 1 1 2',
    );
    expect(() => render('{{ merge "a" .user }}', v)).toThrow(/merge needs maps/);
  });

  it('skips comments', () => {
    expect(render('a{{/* x */}}b{{- /* y */ -}} c')).toBe('abc');
  });

  it('prints values as Go does: float64 from YAML, int64 from Sprig arithmetic', () => {
    const v = { n: 8080, big: 1000000, frac: 0.5, t: true, s: 'x' };
    expect(render('{{ .n }} {{ .big }} {{ .frac }} {{ .t }} {{ .s }}', v)).toBe('8080 1e+06 0.5 true x');
    expect(render('{{ int .big }} {{ add .big 1 }} {{ div 10999 1000 }}', v)).toBe('1000000 1000001 10');
    expect(render('{{ .big | int | quote }}', v)).toBe('"1000000"');
    expect(formatGoFloat(9437184)).toBe('9.437184e+06');
    expect(formatGoFloat(123456)).toBe('123456');
    expect(formatGoFloat(0.0001)).toBe('0.0001');
    expect(formatGoFloat(0.00001)).toBe('1e-05');
  });

  it('prints a missing map key as nothing but fails on a field of nil', () => {
    expect(render('[{{ .a.missing }}]', { a: {} })).toBe('[]');
    expect(() => render('{{ .a.missing.deeper }}', { a: {} })).toThrow(/nil pointer evaluating/);
  });

  it('rejects unknown struct fields (typos in .Chart / .Release)', () => {
    const data = new GoStruct('chart.Metadata', { Name: 'x' });
    expect(render('{{ .Name }}', data)).toBe('x');
    expect(() => render('{{ .Nmae }}', data)).toThrow(/can't evaluate field Nmae/);
  });

  it('eq refuses to compare an int with a float or nil, as Go does', () => {
    expect(render('{{ eq "a" "a" }} {{ eq "a" "b" "a" }}')).toBe('true true');
    expect(() => render('{{ eq .n 1 }}', { n: 1 })).toThrow(/incompatible types/);
    expect(render('{{ eq (int .n) 1 }}', { n: 1 })).toBe('true');
    expect(() => render('{{ eq .missing "x" }}', {})).toThrow(TemplateError);
    expect(render('{{ gt (int .n) 0 }}', { n: 2 })).toBe('true');
  });

  it('if / else if / else, with / else, and / or / not', () => {
    const t = '{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}';
    expect(render(t, { a: 1 })).toBe('A');
    expect(render(t, { b: 'x' })).toBe('B');
    expect(render(t, { a: 0, b: '' })).toBe('C');
    expect(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: { k: 'v' } })).toBe('v');
    expect(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: {} })).toBe('none');
    expect(render('{{ and .a .b }}|{{ or .a .b }}|{{ not .a }}', { a: 0, b: 'x' })).toBe('0|x|true');
    // and short-circuits: the failing second operand is never evaluated
    expect(render('{{ if and .a .a.b }}y{{ else }}n{{ end }}', { a: null })).toBe('n');
  });

  it('range over lists and maps (sorted keys), with variables and else', () => {
    expect(render('{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}', { l: ['a', 'b'] })).toBe('0=a;1=b;');
    expect(render('{{ range $k, $v := .m }}{{ $k }}:{{ $v }} {{ end }}', { m: { z: 1, a: 2 } })).toBe('a:2 z:1 ');
    expect(render('{{ range .l }}{{ . }}{{ else }}empty{{ end }}', { l: [] })).toBe('empty');
    expect(render('{{ range .l }}{{ $.p }}{{ . }}{{ end }}', { l: [1, 2], p: '-' })).toBe('-1-2');
  });

  it('variables: declaration, assignment, scope ends with the block', () => {
    expect(render('{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}')).toBe('2');
    expect(() => render('{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}')).toThrow(/undefined variable/);
  });

  it('define / include / template, with nindent and toYaml', () => {
    const helpers = '{{- define "lbl" -}}\na: {{ .x }}\nb: c\n{{- end }}';
    expect(render('m:\n  {{- include "lbl" . | nindent 2 }}', { x: 1 }, helpers)).toBe('m:\n  a: 1\n  b: c');
    expect(render('{{ template "lbl" . }}', { x: 2 }, helpers)).toBe('a: 2\nb: c');
    expect(render('{{ toYaml .v }}', { v: { b: [1, 'x'], a: { c: true } } })).toBe('a:\n  c: true\nb:\n- 1\n- x');
    expect(() => render('{{ include "nope" . }}')).toThrow(/no template "nope"/);
  });

  it('sprig helpers the chart uses', () => {
    expect(render('{{ default "d" .x }}|{{ default "d" .y }}', { x: '', y: 'v' })).toBe('d|v');
    expect(render('{{ "abcdef-" | trunc 4 }}|{{ "ab-" | trimSuffix "-" }}')).toBe('abcd|ab');
    expect(render('{{ printf "%s-%d" "a" (int 3) }}|{{ contains "b" "abc" }}')).toBe('a-3|true');
    expect(render('{{ omit .m "a" | toYaml }}', { m: { a: 1, b: 2 } })).toBe('b: 2');
    expect(render('{{ (dict "k" "v").k }}')).toBe('v');
    expect(() => render('{{ fail "boom" }}')).toThrow(/boom/);
    expect(() => render('{{ required "need x" .x }}', {})).toThrow(/need x/);
  });

  it('refuses what it does not model instead of guessing', () => {
    expect(() => render('{{ lookup "v1" "Pod" "" "" }}')).toThrow(/not defined/);
    expect(() => render('{{ block "x" . }}{{ end }}')).toThrow(/not supported/);
    expect(() => render('{{ if .a }}')).toThrow(/missing \{\{end\}\}/);
    expect(() => render('{{ end }}')).toThrow(/unexpected/);
  });
});
