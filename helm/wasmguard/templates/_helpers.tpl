{{/*
Chart name, truncated to the 63 characters of a DNS label.
*/}}
{{- define "wasmguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release-chart unless the release name already
contains the chart name.
*/}}
{{- define "wasmguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "wasmguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wasmguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wasmguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "wasmguard.labels" -}}
helm.sh/chart: {{ include "wasmguard.chart" . }}
{{ include "wasmguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: policy-decision-point
{{- end }}

{{- define "wasmguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wasmguard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wasmguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The address WasmGuard listens on: loopback only in sidecar mode.
*/}}
{{- define "wasmguard.host" -}}
{{- if .Values.sidecar.enabled }}127.0.0.1{{ else }}{{ .Values.listen.host }}{{ end }}
{{- end }}

{{/*
Seconds of the shutdown grace period, rounded up.
*/}}
{{- define "wasmguard.graceSeconds" -}}
{{- div (add (int .Values.shutdown.graceMs) 999) 1000 }}
{{- end }}

{{/*
terminationGracePeriodSeconds = preStop sleep + shutdown grace (rounded up to
whole seconds) + margin, plus the gateway's own drain time in sidecar mode
(the gateway stops before its native sidecars do). Kubernetes counts the
preStop hook inside this period, so the service always gets its full grace
after SIGTERM before the kubelet sends SIGKILL.
*/}}
{{- define "wasmguard.terminationGracePeriodSeconds" -}}
{{- $total := add (int .Values.shutdown.preStopSleepSeconds) (include "wasmguard.graceSeconds" .) (int .Values.shutdown.terminationMarginSeconds) }}
{{- if .Values.sidecar.enabled }}
{{- $total = add $total (int .Values.sidecar.gatewayShutdownSeconds) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
A probe on one path. Called with (dict "ctx" $ "path" "/healthz" "probe" <settings>).
HTTP probes on the named port normally; in sidecar mode WasmGuard listens on
127.0.0.1, which the kubelet cannot reach, so node itself fetches the path
inside the container.
*/}}
{{- define "wasmguard.probe" -}}
{{- if .ctx.Values.sidecar.enabled -}}
exec:
  command:
    - node
    - -e
    - {{ printf "fetch('http://127.0.0.1:%d%s',{signal:AbortSignal.timeout(%d)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" (int .ctx.Values.listen.port) .path (mul (int .probe.timeoutSeconds) 1000) | quote }}
{{- else -}}
httpGet:
  path: {{ .path }}
  port: http
{{- end }}
{{ toYaml .probe }}
{{- end }}

{{/*
Checksum of everything mounted from ConfigMaps, so pods restart on change.
*/}}
{{- define "wasmguard.configChecksum" -}}
{{- printf "%s\n%s" (toYaml .Values.config) (toYaml .Values.customGuards) | sha256sum }}
{{- end }}

{{/*
The WasmGuard container. Rendered under containers (Deployment mode) or under
initContainers with restartPolicy Always (native sidecar mode).
*/}}
{{- define "wasmguard.container" -}}
- name: wasmguard
  image: {{ include "wasmguard.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if .Values.sidecar.enabled }}
  restartPolicy: Always
  {{- else }}
  ports:
    - name: http
      containerPort: {{ int .Values.listen.port }}
      protocol: TCP
  {{- end }}
  env:
    - name: WASMGUARD_HOST
      value: {{ include "wasmguard.host" . | quote }}
    - name: WASMGUARD_PORT
      value: {{ int .Values.listen.port | quote }}
    - name: WASMGUARD_CONFIG
      value: /etc/wasmguard/config/config.yaml
    {{- with .Values.wasmguard.guardsDir }}
    - name: WASMGUARD_GUARDS_DIR
      value: {{ . | quote }}
    {{- end }}
    {{- with .Values.wasmguard.poolSize }}
    - name: WASMGUARD_POOL_SIZE
      value: {{ int . | quote }}
    {{- end }}
    - name: WASMGUARD_CALL_TIMEOUT_MS
      value: {{ int .Values.wasmguard.callTimeoutMs | quote }}
    - name: WASMGUARD_MEMORY_LIMIT_MB
      value: {{ int .Values.wasmguard.memoryLimitMb | quote }}
    - name: WASMGUARD_DEFAULT_MODE
      value: {{ .Values.wasmguard.defaultMode | quote }}
    - name: WASMGUARD_GRACE_MS
      value: {{ int .Values.shutdown.graceMs | quote }}
    - name: WASMGUARD_LOG_LEVEL
      value: {{ .Values.wasmguard.logLevel | quote }}
    {{- if .Values.wasmguard.watch }}
    - name: WASMGUARD_WATCH
      value: "true"
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.extraEnvFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  startupProbe:
    {{- include "wasmguard.probe" (dict "ctx" . "path" "/healthz" "probe" .Values.probes.startup) | nindent 4 }}
  livenessProbe:
    {{- include "wasmguard.probe" (dict "ctx" . "path" "/healthz" "probe" .Values.probes.liveness) | nindent 4 }}
  readinessProbe:
    {{- include "wasmguard.probe" (dict "ctx" . "path" "/readyz" "probe" .Values.probes.readiness) | nindent 4 }}
  {{- if gt (int .Values.shutdown.preStopSleepSeconds) 0 }}
  lifecycle:
    preStop:
      {{- if eq .Values.shutdown.preStopAction "sleep" }}
      sleep:
        seconds: {{ int .Values.shutdown.preStopSleepSeconds }}
      {{- else }}
      exec:
        command:
          - node
          - -e
          - {{ printf "setTimeout(()=>{},%d)" (mul (int .Values.shutdown.preStopSleepSeconds) 1000) | quote }}
      {{- end }}
  {{- end }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /etc/wasmguard/config
      readOnly: true
    {{- if .Values.customGuards }}
    - name: guards
      mountPath: /etc/wasmguard/guards
      readOnly: true
    {{- end }}
    - name: tmp
      mountPath: /tmp
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
