{{/*
WasmGuard as a native sidecar in the including chart's pod.

Every template takes the same settings map (usually .Values.wasmguard of the
including chart); only image and configMap are required:

  image              WasmGuard image reference, pinned by digest
                     (registry.example.com/wasmguard@sha256:...)
  imagePullPolicy    IfNotPresent
  configMap          ConfigMap holding config.yaml (the WasmGuard config file)
  port               8080, the decision API, on 127.0.0.1 only
  diagnosticsPort    9090, /healthz /readyz /metrics on all interfaces (the
                     kubelet's httpGet probes and a PodMonitor use it)
  graceMs            10000, WASMGUARD_GRACE_MS
  preStopSleepSeconds 5
  env                [] more env entries (WASMGUARD_POOL_SIZE, secrets, ...)
  resources          requests 250m / 192Mi, limit 384Mi
  securityContext    non-root 1000:1000, read-only root FS, no capabilities
  extraVolumeMounts  [] (e.g. a guard image volume)

In the pod spec: wasmguard.sidecar under initContainers, wasmguard.sidecar.volumes
under volumes, WASMGUARD_URL = wasmguard.sidecar.url in the gateway's env, and
terminationGracePeriodSeconds = the gateway's drain + wasmguard.sidecar.shutdownSeconds.
See README.md beside this chart, and helm/wasmguard/examples/gateway for a whole chart.
*/}}

{{- define "wasmguard.sidecar.port" -}}
{{- int (default 8080 .port) }}
{{- end }}

{{- define "wasmguard.sidecar.diagnosticsPort" -}}
{{- int (default 9090 .diagnosticsPort) }}
{{- end }}

{{/* The URL the gateway calls: loopback, never leaves the pod. */}}
{{- define "wasmguard.sidecar.url" -}}
{{- printf "http://127.0.0.1:%s" (include "wasmguard.sidecar.port" .) }}
{{- end }}

{{/*
Seconds WasmGuard needs after the gateway has stopped (native sidecars stop
after the main containers): preStop sleep + grace rounded up + 5 s to close
pools and exit. Add the gateway's own drain time to get the pod's
terminationGracePeriodSeconds.
*/}}
{{- define "wasmguard.sidecar.shutdownSeconds" -}}
{{- $sleep := int (default 5 .preStopSleepSeconds) }}
{{- $grace := div (add (int (default 10000 .graceMs)) 999) 1000 }}
{{- add $sleep $grace 5 }}
{{- end }}

{{- define "wasmguard.sidecar.probe" -}}
httpGet:
  path: {{ .path }}
  port: wasmguard-diag
{{ toYaml .probe }}
{{- end }}

{{/* The container, for initContainers (restartPolicy Always makes it a native sidecar). */}}
{{- define "wasmguard.sidecar" -}}
- name: wasmguard
  image: {{ required "wasmguard.sidecar: image is required (pin it by digest)" .image | quote }}
  imagePullPolicy: {{ default "IfNotPresent" .imagePullPolicy }}
  # Native sidecar: started (and past its startup probe) before the
  # gateway, stopped only after the gateway has exited.
  restartPolicy: Always
  ports:
    # Only the diagnostics port is reachable from outside the pod.
    - name: wasmguard-diag
      containerPort: {{ include "wasmguard.sidecar.diagnosticsPort" . }}
      protocol: TCP
  env:
    - name: WASMGUARD_HOST
      value: "127.0.0.1"
    - name: WASMGUARD_PORT
      value: {{ include "wasmguard.sidecar.port" . | quote }}
    - name: WASMGUARD_DIAGNOSTICS_HOST
      value: "0.0.0.0"
    - name: WASMGUARD_DIAGNOSTICS_PORT
      value: {{ include "wasmguard.sidecar.diagnosticsPort" . | quote }}
    - name: WASMGUARD_CONFIG
      value: /etc/wasmguard/config/config.yaml
    - name: WASMGUARD_GRACE_MS
      value: {{ int (default 10000 .graceMs) | quote }}
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  startupProbe:
    {{- include "wasmguard.sidecar.probe" (dict "path" "/healthz" "probe" (dict "periodSeconds" 2 "timeoutSeconds" 2 "failureThreshold" 30)) | nindent 4 }}
  livenessProbe:
    {{- include "wasmguard.sidecar.probe" (dict "path" "/healthz" "probe" (dict "periodSeconds" 10 "timeoutSeconds" 2 "failureThreshold" 3)) | nindent 4 }}
  readinessProbe:
    {{- include "wasmguard.sidecar.probe" (dict "path" "/readyz" "probe" (dict "periodSeconds" 5 "timeoutSeconds" 2 "failureThreshold" 2)) | nindent 4 }}
  lifecycle:
    preStop:
      sleep:
        seconds: {{ int (default 5 .preStopSleepSeconds) }}
  resources:
    {{- toYaml (default (dict "requests" (dict "cpu" "250m" "memory" "192Mi") "limits" (dict "memory" "384Mi")) .resources) | nindent 4 }}
  securityContext:
    {{- toYaml (default (dict "runAsNonRoot" true "runAsUser" 1000 "runAsGroup" 1000 "readOnlyRootFilesystem" true "allowPrivilegeEscalation" false "privileged" false "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault")) .securityContext) | nindent 4 }}
  volumeMounts:
    - name: wasmguard-config
      mountPath: /etc/wasmguard/config
      readOnly: true
    - name: wasmguard-tmp
      mountPath: /tmp
    {{- with .extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* The sidecar's volumes, for the pod's volumes list. */}}
{{- define "wasmguard.sidecar.volumes" -}}
- name: wasmguard-config
  configMap:
    name: {{ required "wasmguard.sidecar: configMap is required (a ConfigMap with config.yaml)" .configMap }}
- name: wasmguard-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}
