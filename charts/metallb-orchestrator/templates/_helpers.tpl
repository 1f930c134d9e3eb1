{{/*
Names, labels and the settings document. Every name the templates use is computed here,
so the templates only place values.
*/}}

{{- define "mlb.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or the release name alone when it already contains the chart name. */}}
{{- define "mlb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mlb.controller.fullname" -}}
{{- printf "%s-controller" (include "mlb.fullname" .) -}}
{{- end -}}

{{- define "mlb.speaker.fullname" -}}
{{- printf "%s-speaker" (include "mlb.fullname" .) -}}
{{- end -}}

{{- define "mlb.settingsSecret" -}}
{{- printf "%s-settings" (include "mlb.fullname" .) -}}
{{- end -}}

{{- define "mlb.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "mlb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mlb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mlb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mlb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of one component; call with (dict "ctx" $ "component" "controller"). */}}
{{- define "mlb.componentLabels" -}}
{{ include "mlb.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mlb.componentSelector" -}}
{{ include "mlb.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mlb.controller.serviceAccount" -}}
{{- if .Values.serviceAccounts.controller.create -}}
{{- .Values.serviceAccounts.controller.name | default (include "mlb.controller.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccounts.controller.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "mlb.speaker.serviceAccount" -}}
{{- if .Values.serviceAccounts.speaker.create -}}
{{- .Values.serviceAccounts.speaker.name | default (include "mlb.speaker.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccounts.speaker.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "mlb.metricsHost" -}}
{{- if .Values.metrics.enabled -}}$(POD_IP){{- else -}}127.0.0.1{{- end -}}
{{- end -}}

{{/*
The ModuleConfig the controller and the speakers read from the settings Secret: only the
ModuleConfig keys that are set; `speaker` reduced to nodeSelector/tolerations; no
chart-only key.
*/}}
{{- define "mlb.moduleConfig" -}}
{{- $v := .Values -}}
{{- $settings := dict -}}
{{- with $v.loadBalancerClass }}{{ $_ := set $settings "loadBalancerClass" . }}{{ end -}}
{{- with $v.nodeSelector }}{{ $_ := set $settings "nodeSelector" . }}{{ end -}}
{{- with $v.tolerations }}{{ $_ := set $settings "tolerations" . }}{{ end -}}
{{- $speaker := dict -}}
{{- with $v.speaker.nodeSelector }}{{ $_ := set $speaker "nodeSelector" . }}{{ end -}}
{{- with $v.speaker.tolerations }}{{ $_ := set $speaker "tolerations" . }}{{ end -}}
{{- if $speaker }}{{ $_ := set $settings "speaker" $speaker }}{{ end -}}
{{- with $v.bgpPeers }}{{ $_ := set $settings "bgpPeers" . }}{{ end -}}
{{- with $v.addressPools }}{{ $_ := set $settings "addressPools" . }}{{ end -}}
{{- with $v.bgpCommunities }}{{ $_ := set $settings "bgpCommunities" . }}{{ end -}}
{{- $spec := dict "version" (int $v.settingsVersion) "enabled" true "settings" $settings -}}
{{- $doc := dict "apiVersion" "deckhouse.io/v1alpha1" "kind" "ModuleConfig" "metadata" (dict "name" "metallb") "spec" $spec -}}
{{- toYaml $doc -}}
{{- end -}}

{{/* Pod-level securityContext shared by the speaker pod's containers. */}}
{{- define "mlb.containerSecurity" -}}
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
  {{- with . }}
  add: {{ toJson . }}
  {{- end }}
{{- end -}}

{{/* The webhook's Service, ValidatingWebhookConfiguration and generated-certificate Secret. */}}
{{- define "mlb.webhook.fullname" -}}
{{- printf "%s-webhook" (include "mlb.fullname" .) -}}
{{- end -}}
