"""Dashboard pages: the runs list and the flow-run page."""

from django.shortcuts import get_object_or_404, render

from .models import FlowRun


def runs_list(request):
    return render(request, "runs/list.html", {"runs": FlowRun.objects.select_related("flow")[:50]})


def flow_run_detail(request, pk):
    run = get_object_or_404(FlowRun.objects.select_related("flow", "state"), pk=pk)
    return render(request, "runs/flow_run.html", {"run": run})
