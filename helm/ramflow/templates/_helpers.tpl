{{/* Chart name, truncated to 63 characters (the DNS label limit). */}}
{{- define "ramflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "ramflow.fullname" -}}
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

{{- define "ramflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ramflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ramflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ramflow.labels" -}}
helm.sh/chart: {{ include "ramflow.chart" . }}
{{ include "ramflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "ramflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ramflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ramflow.image" -}}
{{- printf "%s:%s" .Values.sidecar.image.repository (default .Chart.AppVersion .Values.sidecar.image.tag) }}
{{- end }}

{{/* "true" when the sidecar runs as a native sidecar (restartPolicy: Always init container, Kubernetes >= 1.29). */}}
{{- define "ramflow.nativeSidecar" -}}
{{- if eq .Values.sidecar.native "always" }}true
{{- else if and (eq .Values.sidecar.native "auto") (semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version) }}true
{{- end }}
{{- end }}

{{/*
Capabilities the sidecar needs beyond none; a non-root container never gets added
capabilities, so any of them means UID 0. The eBPF mode needs SYS_PTRACE too: a UID 0
without it may not open a worker's /proc/<pid>/root (where the worker's cgroup is read)
or smaps_rollup when the worker runs under another UID.
*/}}
{{- define "ramflow.sidecarCapabilities" -}}
{{- $caps := list }}
{{- if .Values.sidecar.ebpf.enabled }}{{ $caps = concat $caps (list "BPF" "PERFMON" "SYS_PTRACE") }}{{ end }}
{{- if .Values.sidecar.readOtherUids }}{{ $caps = append $caps "SYS_PTRACE" }}{{ end }}
{{- toJson ($caps | uniq) }}
{{- end }}

{{/* The Pod Security Standards level the worker pods need: adding BPF, PERFMON or SYS_PTRACE is beyond baseline. */}}
{{- define "ramflow.podSecurityLevel" -}}
{{- if include "ramflow.sidecarCapabilities" . | fromJsonArray }}privileged{{ else }}restricted{{ end }}
{{- end }}

{{/* "true" when an "auto"/true/false switch is on: "auto" means on in the monitoring mode only. */}}
{{- define "ramflow.monitoringSwitch" -}}
{{- $value := index . 0 }}{{- $mode := index . 1 }}
{{- if kindIs "bool" $value }}{{ if $value }}true{{ end }}
{{- else if eq $mode "monitoring" }}true
{{- end }}
{{- end }}

{{- define "ramflow.prometheusRuleEnabled" -}}
{{- include "ramflow.monitoringSwitch" (list .Values.prometheusRule.enabled .Values.mode) }}
{{- end }}

{{- define "ramflow.grafanaDashboardsEnabled" -}}
{{- include "ramflow.monitoringSwitch" (list .Values.grafanaDashboards.enabled .Values.mode) }}
{{- end }}

{{/* The worker's UID: its own runAsUser, else the pod's; empty when the image decides. */}}
{{- define "ramflow.workerUid" -}}
{{- $uid := .Values.worker.securityContext.runAsUser | default .Values.podSecurityContext.runAsUser }}
{{- if not (kindIs "invalid" $uid) }}{{ int $uid }}{{ end }}
{{- end }}

{{- define "ramflow.sidecarSecurityContext" -}}
{{- $caps := include "ramflow.sidecarCapabilities" . | fromJsonArray -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
  {{- with $caps }}
  add: {{ toJson . }}
  {{- end }}
{{- if $caps }}
runAsUser: 0
runAsGroup: 0
runAsNonRoot: false
{{- else if .Values.worker.securityContext.runAsUser }}
{{- /* The worker overrides the pod's UID: follow it (the pod's UID is inherited otherwise). */}}
runAsUser: {{ int .Values.worker.securityContext.runAsUser }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The init container that copies the agent out of the ramflow image, so the worker image needs no change. */}}
{{- define "ramflow.agentInitContainer" -}}
- name: ramflow-agent
  image: {{ include "ramflow.image" . | quote }}
  imagePullPolicy: {{ .Values.sidecar.image.pullPolicy }}
  command: ["cp", "-R", "/opt/ramflow/agent/.", {{ printf "%s/" .Values.agent.mountPath | quote }}]
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
    seccompProfile:
      type: RuntimeDefault
  resources:
    {{- toYaml .Values.agent.resources | nindent 4 }}
  volumeMounts:
    - name: ramflow-agent
      mountPath: {{ .Values.agent.mountPath }}
{{- end }}

{{- define "ramflow.sidecarContainer" -}}
{{- $native := include "ramflow.nativeSidecar" . -}}
- name: ramflow
  image: {{ include "ramflow.image" . | quote }}
  imagePullPolicy: {{ .Values.sidecar.image.pullPolicy }}
  {{- if $native }}
  restartPolicy: Always
  {{- end }}
  args:
    - serve
    - --listen
    - {{ printf "0.0.0.0:%d" (int .Values.sidecar.port) | quote }}
    - --socket
    - {{ printf "%s/ramflow.sock" .Values.socketDir | quote }}
    - --interval
    - {{ .Values.sidecar.interval | quote }}
    - --state-dir
    - /var/lib/ramflow
    - --max-processes
    - {{ int .Values.sidecar.maxProcesses | quote }}
    - --log-format
    - {{ .Values.sidecar.logFormat | quote }}
    - --log-level
    - {{ .Values.sidecar.logLevel | quote }}
    - --ebpf
    - {{ ternary "on" "off" .Values.sidecar.ebpf.enabled | quote }}
    - --capture-auto
    - {{ .Values.sidecar.capture.auto | toString | quote }}
    - --capture-every
    - {{ .Values.sidecar.capture.every | quote }}
    {{- $uids := .Values.sidecar.allowedUids }}
    {{- if and (include "ramflow.sidecarCapabilities" . | fromJsonArray) (include "ramflow.workerUid" .) }}
    {{- $uids = append $uids (include "ramflow.workerUid" . | int) }}
    {{- end }}
    {{- with $uids }}
    - --allowed-uids
    - {{ . | uniq | join "," | quote }}
    {{- end }}
    {{- with .Values.sidecar.processMatch }}
    - --process-match
    - {{ . | quote }}
    {{- end }}
    {{- with .Values.sidecar.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  env:
    - name: RAMFLOW_MEMORY_LIMIT_BYTES
      valueFrom:
        resourceFieldRef:
          containerName: worker
          resource: limits.memory
          divisor: "1"
    - name: RAMFLOW_MEMORY_REQUEST_BYTES
      valueFrom:
        resourceFieldRef:
          containerName: worker
          resource: requests.memory
          divisor: "1"
    - name: RAMFLOW_LEAK_MEDIUM
      value: {{ .Values.sidecar.leakMediumMiB | toString | quote }}
    - name: RAMFLOW_LEAK_HIGH
      value: {{ .Values.sidecar.leakHighMiB | toString | quote }}
    {{- with .Values.sidecar.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: metrics
      containerPort: {{ .Values.sidecar.port }}
      protocol: TCP
  {{- with .Values.sidecar.startupProbe }}
  startupProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.sidecar.livenessProbe }}
  livenessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.sidecar.readinessProbe }}
  readinessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if not $native }}
  lifecycle:
    # A plain container: the kubelet starts the next container only after this
    # hook returns, so the worker starts once the socket exists (or after 30 s).
    postStart:
      exec:
        command: ["/bin/sh", "-c", {{ printf "i=0; while [ ! -S %s/ramflow.sock ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done" .Values.socketDir | quote }}]
  {{- end }}
  resources:
    {{- toYaml .Values.sidecar.resources | nindent 4 }}
  securityContext:
    {{- include "ramflow.sidecarSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: ramflow-socket
      mountPath: {{ .Values.socketDir }}
    - name: ramflow-state
      mountPath: /var/lib/ramflow
{{- end }}

{{/*
The rule file with its knobs filled in. files/prometheus/ramflow-rules.yaml is
deploy/prometheus/ramflow-rules.yaml with each knob's default replaced by @NAME@
(helm/sync_chart_files.py); the defaults come from files/thresholds.json (a copy of
thresholds/thresholds.json), except sidecarJob, which selects this chart's job
(prometheusJob); prometheusRule.knobs overrides them. The same two steps as
deploy/prometheus/set_knobs.py (tests/helm/render.test.mjs checks both agree).
*/}}
{{- define "ramflow.prometheusRulesText" -}}
{{- $text := .Files.Get "files/prometheus/ramflow-rules.yaml" }}
{{- $values := dict }}
{{- range $name, $entry := (.Files.Get "files/thresholds.json" | fromJson).thresholds }}
{{- if $entry.knob }}{{ $_ := set $values $name (toString $entry.value) }}{{ end }}
{{- end }}
{{- $_ := set $values "sidecarJob" (printf "job=%q" .Values.prometheusJob) }}
{{- range $name, $value := .Values.prometheusRule.knobs | default dict }}
{{- if not (hasKey $values $name) }}
{{- fail (printf "prometheusRule.knobs.%s: unknown knob; known: %s (docs/alerts.md)" $name (keys $values | sortAlpha | join ", ")) }}
{{- end }}
{{- $_ := set $values $name (toString $value) }}
{{- end }}
{{- range $name, $value := $values }}
{{- $text = replace (printf "@%s@" $name) $value $text }}
{{- end }}
{{- $text }}
{{- end }}

{{/*
What a ServiceMonitor endpoint and a PodMonitor podMetricsEndpoint share, from
serviceMonitor.* or podMonitor.*. The PodMonitor's own relabelings come first: only
the container "ramflow" (another container's port may also be called "metrics"), and
the job set to prometheusJob (a PodMonitor's default job is <namespace>/<name>).
*/}}
{{- define "ramflow.scrapeEndpoint" -}}
interval: {{ .interval }}
scrapeTimeout: {{ .scrapeTimeout }}
{{- with .relabelings }}
relabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The webhook's Service name, the host the API server calls (<name>.<namespace>.svc). */}}
{{- define "ramflow.webhookService" -}}
{{- include "ramflow.fullname" . }}
{{- end }}

{{- define "ramflow.webhookTlsSecret" -}}
{{- printf "%s-tls" (include "ramflow.fullname" . | trunc 59 | trimSuffix "-") }}
{{- end }}

{{/* "true" when the webhook's certificate comes from cert-manager. */}}
{{- define "ramflow.webhookCertManager" -}}
{{- $enabled := .Values.webhook.certManager.enabled }}
{{- if kindIs "bool" $enabled }}{{ if $enabled }}true{{ end }}
{{- else if .Capabilities.APIVersions.Has "cert-manager.io/v1" }}true
{{- end }}
{{- end }}

{{- define "ramflow.webhookLabels" -}}
{{ include "ramflow.labels" . }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "ramflow.webhookSelectorLabels" -}}
{{ include "ramflow.selectorLabels" . }}
app.kubernetes.io/component: webhook
{{- end }}
