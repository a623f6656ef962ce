"""Views over native envs, found through the registry: Gymnasium (vector and single) and
envpool's calling convention. Envs never import views."""
