{{/* Names and labels. */}}
{{- define "observacost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "observacost.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of one component's objects: (dict "root" $ "component" "collector"). */}}
{{- define "observacost.componentName" -}}
{{- printf "%s-%s" (include "observacost.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "observacost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "observacost.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "observacost.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "observacost.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: observacost
{{- end -}}

{{- define "observacost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "observacost.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference: (dict "root" $ "repository" "node-collector"). */}}
{{- define "observacost.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .repository (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/*
Contradictory values stop the rendering with a message that names the value to change (included by every template
that renders a workload, so `helm template` and `helm install` both refuse).
*/}}
{{- define "observacost.validate" -}}
{{- $v := .Values -}}
{{- if and $v.analytics.enabled (gt (int $v.analytics.replicaCount) 1) (not $v.analytics.postgres.existingSecret) -}}
{{- fail (printf "analytics.replicaCount is %d, but more than one analytics replica needs Quartz clustering on PostgreSQL: set analytics.postgres.existingSecret to a Secret holding the connection string (key analytics.postgres.key), or set analytics.replicaCount to 1." (int $v.analytics.replicaCount)) -}}
{{- end -}}
{{- if and $v.analytics.enabled (eq $v.store.type "victoriametrics") -}}
{{- fail "store.type is victoriametrics, but the analytics service reads with InfluxQL, which VictoriaMetrics does not answer: set analytics.enabled=false (the collectors still write to VictoriaMetrics) or point store at an InfluxDB." -}}
{{- end -}}
{{- if and (eq $v.store.apiVersion "V2") (not $v.store.org) -}}
{{- fail "store.apiVersion is V2, which needs store.org (the InfluxDB organization)." -}}
{{- end -}}
{{- if and (eq $v.store.apiVersion "V2") (not $v.store.auth.existingSecret) -}}
{{- fail "store.apiVersion is V2, which needs a token: set store.auth.existingSecret (and store.auth.tokenKey)." -}}
{{- end -}}
{{- if and $v.collector.auth.tokens (not $v.collector.auth.existingSecret) -}}
{{- fail "collector.auth.tokens is set, but collector.auth.existingSecret is empty: the tokens' SHA-256 hashes are read from that Secret." -}}
{{- end -}}
{{- if and $v.analytics.auth.tokens (not $v.analytics.auth.existingSecret) -}}
{{- fail "analytics.auth.tokens is set, but analytics.auth.existingSecret is empty: the tokens' SHA-256 hashes are read from that Secret." -}}
{{- end -}}
{{- if and $v.ingest.enabled (not $v.collector.auth.tokens) -}}
{{- fail "ingest.enabled is true, but collector.auth.tokens is empty: the push-ingest Service accepts only token-authenticated writes, so give it at least one token." -}}
{{- end -}}
{{- end -}}

{{/* Environment of the store connection (Storage:*), the same in every component. */}}
{{- define "observacost.storeEnv" -}}
{{- $s := .Values.store -}}
- name: Storage__Backend
  value: InfluxDb
- name: Storage__InfluxDb__Url
  value: {{ $s.url | quote }}
- name: Storage__InfluxDb__ApiVersion
  value: {{ $s.apiVersion | quote }}
- name: Storage__InfluxDb__Database
  value: {{ $s.database | quote }}
{{- with $s.retentionPolicy }}
- name: Storage__InfluxDb__RetentionPolicy
  value: {{ . | quote }}
{{- end }}
{{- with $s.org }}
- name: Storage__InfluxDb__Org
  value: {{ . | quote }}
{{- end }}
{{- with $s.bucket }}
- name: Storage__InfluxDb__Bucket
  value: {{ . | quote }}
{{- end }}
- name: Storage__InfluxDb__CreateDatabase
  value: {{ and $s.createDatabase (eq $s.type "influxdb") | quote }}
{{- if eq $s.apiVersion "V2" }}
{{- /* V2 start-up checks (ping, organization, bucket, DBRP mapping) need InfluxDB 2.x's management API, which VictoriaMetrics lacks. */}}
- name: Storage__InfluxDb__StartupChecks
  value: {{ eq $s.type "influxdb" | quote }}
{{- end }}
{{- with $s.auth.existingSecret }}
{{- if and (eq $s.apiVersion "V1") $s.auth.usernameKey }}
- name: Storage__InfluxDb__Username
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $s.auth.usernameKey }}
- name: Storage__InfluxDb__Password
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $s.auth.passwordKey }}
{{- else }}
- name: Storage__InfluxDb__Token
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $s.auth.tokenKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Token environment: (dict "section" "Collector__Auth" "auth" .Values.collector.auth). Hashes come from the Secret. */}}
{{- define "observacost.tokenEnv" -}}
{{- $auth := .auth -}}
{{- $section := .section -}}
{{- range $i, $t := $auth.tokens }}
- name: {{ printf "%s__Tokens__%d__Name" $section $i }}
  value: {{ required "every token needs a name" $t.name | quote }}
- name: {{ printf "%s__Tokens__%d__Sha256" $section $i }}
  valueFrom:
    secretKeyRef:
      name: {{ $auth.existingSecret }}
      key: {{ required "every token needs sha256Key (its key in existingSecret)" $t.sha256Key }}
{{- with $t.tenant }}
- name: {{ printf "%s__Tokens__%d__Tenant" $section $i }}
  value: {{ . | quote }}
{{- end }}
{{- if $t.admin }}
- name: {{ printf "%s__Tokens__%d__Admin" $section $i }}
  value: "true"
{{- end }}
{{- end }}
{{- end -}}

{{/* The collector's environment apart from its source: listen address, store, spool, ingest tokens. */}}
{{- define "observacost.collectorEnv" -}}
- name: Urls
  value: {{ printf "http://+:%d" (int .Values.collector.port) | quote }}
{{ include "observacost.storeEnv" . }}
- name: Collector__Spool__Directory
  value: /var/lib/observacost/spool
- name: Collector__Spool__MaxBytes
  value: {{ .Values.collector.spool.maxBytes | int64 | quote }}
- name: Collector__Auth__AllowAnonymousLoopback
  value: "false"
{{- include "observacost.tokenEnv" (dict "section" "Collector__Auth" "auth" .Values.collector.auth) }}
{{- with .Values.collector.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Probes of a container serving /healthz and /readyz on the named port "http". */}}
{{- define "observacost.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 5
  failureThreshold: {{ .Values.probes.startupFailureThreshold }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ .Values.probes.livenessPeriodSeconds }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: {{ .Values.probes.readinessPeriodSeconds }}
{{- end -}}

{{/* Pod fields every workload shares. */}}
{{- define "observacost.podCommon" -}}
serviceAccountName: {{ include "observacost.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
