{{/* Labels of every object (the same as deploy/base). */}}
{{- define "hallmark.labels" -}}
app.kubernetes.io/name: hallmark
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: hallmark
{{- end -}}
{{/* The selector labels. */}}
{{- define "hallmark.selector" -}}
app.kubernetes.io/name: hallmark
app.kubernetes.io/component: controller
{{- end -}}
