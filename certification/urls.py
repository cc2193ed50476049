from django.urls import path

from certification import concern_views, views

app_name = "certification"
urlpatterns = [
    # The teacher's queue (認證): outcomes awaiting certification, by course and class.
    path("certification/", views.queue, name="queue"),
    # The registry's proxy page: courses whose teachers have all left.
    path("certification/proxy/", views.proxy, name="proxy"),
    path("certification/certify-selected/", views.certify_many, name="certify_many"),
    # One outcome: POST action=certify or action=reject (with the reason).
    path("certification/<int:pk>/", views.decide, name="decide"),
    path("certification/<int:pk>/reject/", views.reject, name="reject"),
    # Taking a decision back: the decider's undo, the registry's reopening with a reason.
    path("certification/<int:pk>/undo/", views.undo, name="undo"),
    path("certification/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("certification/export/", views.export, name="export"),
    # Concerns (反映) about decisions: raised by the student, answered by teachers and registry.
    path("certification/concerns/", concern_views.concern_list, name="concerns"),
    path("certification/concerns/<int:pk>/", concern_views.concern, name="concern"),
    path("certification/outcomes/<int:pk>/concern/", concern_views.concern_new, name="concern_new"),
]
