{{- define "mlk.labels" -}}
app.kubernetes.io/managed-by: mlk
app.kubernetes.io/part-of: {{ .plan.pipeline }}
mlk.dev/pipeline: {{ .plan.pipeline }}
mlk.dev/step: {{ .step.name }}
{{- range $k, $v := .step.labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "mlk.pod" -}}
metadata:
  labels:
    {{- include "mlk.labels" . | nindent 4 }}
spec:
  {{- with .plan.stack.service_account }}
  serviceAccountName: {{ . }}
  {{- end }}
  restartPolicy: {{ .restartPolicy }}
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: {{ .container }}
    image: {{ .step.image | quote }}
    command:
    {{- range .step.command }}
    - {{ . | quote }}
    {{- end }}
    env:
    - name: MLK_PIPELINE
      value: {{ .plan.pipeline | quote }}
    - name: MLK_STEP
      value: {{ .step.name | quote }}
    {{- range $k, $v := .step.env }}
    - name: {{ $k }}
      {{- if hasKey $v "literal" }}
      value: {{ $v.literal | quote }}
      {{- else if hasKey $v "secret" }}
      valueFrom:
        secretKeyRef:
          name: {{ $v.secret.name }}
          key: {{ $v.secret.key }}
      {{- end }}
    {{- end }}
    {{- with .plan.stack.env_from_secret }}
    envFrom:
    - secretRef:
        name: {{ . }}
    {{- end }}
    resources:
      {{- toYaml .step.resources | nindent 6 }}
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop:
        - ALL
  {{- with .step.node_selector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .step.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
