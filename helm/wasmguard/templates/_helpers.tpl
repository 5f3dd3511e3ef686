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
Seconds of the shutdown grace period, rounded up.
*/}}
{{- define "wasmguard.graceSeconds" -}}
{{- div (add (int .Values.shutdown.graceMs) 999) 1000 }}
{{- end }}

{{/*
terminationGracePeriodSeconds = preStop sleep + shutdown grace (rounded up to
whole seconds) + margin. Kubernetes counts the preStop hook inside this
period, so the service always gets its full grace after SIGTERM before the
kubelet sends SIGKILL.
*/}}
{{- define "wasmguard.terminationGracePeriodSeconds" -}}
{{- add (int .Values.shutdown.preStopSleepSeconds) (include "wasmguard.graceSeconds" .) (int .Values.shutdown.terminationMarginSeconds) }}
{{- end }}

{{/*
The container port probes and scrapes use: the diagnostics listener when it
is on (it answers even when the API port is saturated by decisions), else
the API port.
*/}}
{{- define "wasmguard.probePort" -}}
{{- if .Values.diagnostics.enabled }}diagnostics{{ else }}http{{ end }}
{{- end }}

{{/*
A probe on one path. Called with (dict "ctx" $ "path" "/healthz" "probe" <settings>).
*/}}
{{- define "wasmguard.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ include "wasmguard.probePort" .ctx }}
{{ toYaml .probe }}
{{- end }}

{{/*
The guard image reference: a digest pins it and wins over the tag.
*/}}
{{- define "wasmguard.guardImage" -}}
{{- with .Values.guardImage }}
{{- if .digest }}{{ printf "%s@%s" .repository .digest }}{{ else }}{{ printf "%s:%s" .repository (required "guardImage.tag or guardImage.digest is required with guardImage.repository" .tag) }}{{ end }}
{{- end }}
{{- end }}

{{/*
Where the guards of guardImage appear in the WasmGuard container, in both
modes: the image volume is mounted at /etc/wasmguard/guard-image, and the
init container copies guardImage.path into an emptyDir mounted at the same
place plus that path.
*/}}
{{- define "wasmguard.guardImageDir" -}}
{{- printf "/etc/wasmguard/guard-image/%s" (trimPrefix "/" .Values.guardImage.path) | trimSuffix "/" }}
{{- end }}

{{/*
Checksum of everything mounted from ConfigMaps, so pods restart on change.
*/}}
{{- define "wasmguard.configChecksum" -}}
{{- printf "%s\n%s" (toYaml .Values.config) (toYaml .Values.customGuards) | sha256sum }}
{{- end }}

{{/*
The WasmGuard container of the Deployment. To run WasmGuard inside another
chart's pod, use the library chart helm/wasmguard-sidecar instead.
*/}}
{{- define "wasmguard.container" -}}
- name: wasmguard
  image: {{ include "wasmguard.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  ports:
    - name: http
      containerPort: {{ int .Values.listen.port }}
      protocol: TCP
    {{- if .Values.diagnostics.enabled }}
    - name: diagnostics
      containerPort: {{ int .Values.diagnostics.port }}
      protocol: TCP
    {{- end }}
  env:
    - name: WASMGUARD_HOST
      value: {{ .Values.listen.host | quote }}
    - name: WASMGUARD_PORT
      value: {{ int .Values.listen.port | quote }}
    {{- if .Values.diagnostics.enabled }}
    - name: WASMGUARD_DIAGNOSTICS_HOST
      value: {{ .Values.diagnostics.host | quote }}
    - name: WASMGUARD_DIAGNOSTICS_PORT
      value: {{ int .Values.diagnostics.port | quote }}
    {{- end }}
    - name: WASMGUARD_CONFIG
      value: /etc/wasmguard/config/config.yaml
    {{- if .Values.wasmguard.guardsDir }}
    - name: WASMGUARD_GUARDS_DIR
      value: {{ .Values.wasmguard.guardsDir | quote }}
    {{- else if and .Values.guardImage.repository (not .Values.config.guards) }}
    - name: WASMGUARD_GUARDS_DIR
      value: {{ include "wasmguard.guardImageDir" . | quote }}
    {{- end }}
    {{- with .Values.wasmguard.poolSize }}
    - name: WASMGUARD_POOL_SIZE
      value: {{ int . | quote }}
    {{- end }}
    {{- with .Values.wasmguard.poolWarm }}
    - name: WASMGUARD_POOL_WARM
      value: {{ int . | quote }}
    {{- end }}
    {{- /* not with: 0 (keep grown instances) is a value to pass on */}}
    {{- if not (kindIs "invalid" .Values.wasmguard.poolIdleMs) }}
    - name: WASMGUARD_POOL_IDLE_MS
      value: {{ int .Values.wasmguard.poolIdleMs | quote }}
    {{- end }}
    - name: WASMGUARD_CALL_TIMEOUT_MS
      value: {{ int .Values.wasmguard.callTimeoutMs | quote }}
    - name: WASMGUARD_MEMORY_LIMIT_MB
      value: {{ int .Values.wasmguard.memoryLimitMb | quote }}
    - name: WASMGUARD_DEFAULT_MODE
      value: {{ .Values.wasmguard.defaultMode | quote }}
    - name: WASMGUARD_GRACE_MS
      value: {{ int .Values.shutdown.graceMs | quote }}
    - name: WASMGUARD_DRAIN_MS
      value: {{ int .Values.shutdown.drainMs | quote }}
    - name: WASMGUARD_LOG_LEVEL
      value: {{ .Values.wasmguard.logLevel | quote }}
    {{- with .Values.sessions.ttlSeconds }}
    - name: WASMGUARD_SESSION_TTL_S
      value: {{ int . | quote }}
    {{- end }}
    {{- with .Values.sessions.storeSecret }}{{ if .name }}
    - name: WASMGUARD_SESSION_STORE
      valueFrom:
        secretKeyRef:
          name: {{ .name | quote }}
          key: {{ .key | quote }}
    {{- end }}{{ end }}
    {{- with .Values.auth.tokensSecret }}{{ if .name }}
    - name: WASMGUARD_API_TOKENS_FILE
      value: /etc/wasmguard/tokens/{{ .key }}
    {{- end }}{{ end }}
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
          - /nodejs/bin/node
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
    {{- if .Values.guardImage.repository }}
    - name: guard-image
      {{- if eq .Values.guardImage.mode "imageVolume" }}
      mountPath: /etc/wasmguard/guard-image
      {{- else }}
      mountPath: {{ include "wasmguard.guardImageDir" . }}
      {{- end }}
      readOnly: true
    {{- end }}
    - name: tmp
      mountPath: /tmp
    {{- if .Values.auth.tokensSecret.name }}
    - name: api-tokens
      mountPath: /etc/wasmguard/tokens
      readOnly: true
    {{- end }}
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
The init container that copies the guards out of guardImage (mode
initContainer): it runs the guard image's own copy tool, so that image needs
one (e.g. FROM busybox); the image-volume mode needs none.
*/}}
{{- define "wasmguard.guardCopier" -}}
- name: guard-copy
  image: {{ include "wasmguard.guardImage" . | quote }}
  imagePullPolicy: {{ .Values.guardImage.pullPolicy }}
  command:
    {{- toYaml (default (list "cp" "-R" (printf "%s/." (trimSuffix "/" .Values.guardImage.path)) "/copy/") .Values.guardImage.copyCommand) | nindent 4 }}
  resources:
    requests:
      cpu: 10m
      memory: 16Mi
    limits:
      memory: 64Mi
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: guard-image
      mountPath: /copy
{{- end }}
