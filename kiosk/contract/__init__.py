"""The declared contract of every input and output: JSON bodies, query strings, answers and web
forms, as pydantic models built from the value types in ``types`` and the domain's enums.

``openapi`` turns the models of the API's routes into ``/api/v1/openapi.json``; ``forms`` declares
the web forms with the same types; ``errors`` turns a refused input into translated messages,
one per field.
"""
