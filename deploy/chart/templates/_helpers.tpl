{{/* The chart's name. */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: the release name when it already says "sluice". */}}
{{- define "sluice.fullname" -}}
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

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sluice.labels" -}}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/part-of: sluice
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest. */}}
{{- define "sluice.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "sluice.leaderElectionNamespace" -}}
{{- default .Release.Namespace .Values.controller.leaderElectionNamespace }}
{{- end }}

{{/* The Secret the notification URLs come from, if any. */}}
{{- define "sluice.notificationSecret" -}}
{{- $n := .Values.notifications }}
{{- if $n.existingSecret }}
{{- $n.existingSecret }}
{{- else if or $n.slack.url $n.slack.token $n.msteams.url $n.eventWebhook }}
{{- printf "%s-notifications" (include "sluice.fullname" .) }}
{{- end }}
{{- end }}

{{- define "sluice.loadtester.fullname" -}}
{{- printf "%s-loadtester" (include "sluice.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sluice.loadtester.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}-loadtester
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sluice.loadtester.labels" -}}
{{ include "sluice.loadtester.selectorLabels" . }}
app.kubernetes.io/part-of: sluice
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
The controller Deployments: the unsharded one ("") and one per entry of `shards`. Each
controller template ranges over this list with a context of the root values plus `shard`.
*/}}
{{- define "sluice.shards" -}}
{{- toJson (concat (list "") .Values.shards) }}
{{- end }}

{{/* "-<shard>" on a shard's objects; nothing on the unsharded controller's. */}}
{{- define "sluice.shardSuffix" -}}
{{- with .shard }}-{{ . }}{{ end }}
{{- end }}

{{- define "sluice.controllerName" -}}
{{- include "sluice.fullname" . }}{{ include "sluice.shardSuffix" . }}
{{- end }}

{{/*
A shard's pods are told apart by name (`<name>-shard`) and `sluice.dev/shard`, so the
unsharded Deployment's selector (unchanged since before sharding) never matches them.
*/}}
{{- define "sluice.controllerSelectorLabels" -}}
{{- if .shard }}
app.kubernetes.io/name: {{ include "sluice.name" . }}-shard
app.kubernetes.io/instance: {{ .Release.Name }}
sluice.dev/shard: {{ .shard }}
{{- else }}
{{- include "sluice.selectorLabels" . }}
{{- end }}
{{- end }}

{{- define "sluice.controllerLabels" -}}
{{ include "sluice.controllerSelectorLabels" . }}
app.kubernetes.io/part-of: sluice
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The Lease a controller leads on: `sluice controller --shard` appends the shard. */}}
{{- define "sluice.leaseName" -}}
{{- .Values.controller.leaderElectionId }}{{ include "sluice.shardSuffix" . }}
{{- end }}
