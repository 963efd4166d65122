{{/* Base name of every resource: the release name, plus "-handoff" unless it already says so. */}}
{{- define "handoff.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "handoff.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "handoff.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/*
Every workload as a list: hub services run `hub run <name>`, connector instances run
`hub run connectors` for one instance. Each entry's settings are the defaults merged with
what the entry overrides.
*/}}
{{- define "handoff.workloads" -}}
{{- $out := list -}}
{{- range .Values.services -}}
{{- $spec := mergeOverwrite (deepCopy $.Values.defaults) (omit . "name") -}}
{{- $out = append $out (dict "name" .name "component" "service" "service" .name "instance" "" "spec" $spec) -}}
{{- end -}}
{{- range .Values.connectors -}}
{{- $spec := mergeOverwrite (deepCopy $.Values.defaults) (omit . "name") -}}
{{- $out = append $out (dict "name" (printf "connector-%s" .name) "component" "connector" "service" "connectors" "instance" .name "spec" $spec) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "handoff.serviceAccountName" -}}
{{- include "handoff.fullname" . -}}
{{- end -}}

{{- define "handoff.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "handoff.fullname" .) -}}
{{- end -}}
{{- end -}}
