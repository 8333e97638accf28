from django.urls import path

from coproduction import views

app_name = "coproduction"

urlpatterns = [
    path("", views.index, name="index"),
    path("cocreator/", views.cocreator, name="cocreator"),
]
