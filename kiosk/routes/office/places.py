"""Places and people: the office's buildings with their counts, a page per building and per
household (seal, observation, members, passes, recent passages), a search for people, and the
forms that add a building, a household or a member and correct a member's details."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import (
    BuildingForm,
    HouseholdForm,
    PeopleSearch,
    ResidentEditForm,
    ResidentForm,
)
from ...domain.decision import PassKind
from ...extensions import htmx
from ...models import Building, Household, Resident, utcnow
from ...services import directory, org, scope
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


def _places(status: int = 200, **extra):
    return (
        render_template(
            "office/places.html",
            rows=directory.buildings(current_user, utcnow()),
            compounds=org.compounds(current_user),
            form=extra.pop("form", {}),
            **extra,
        ),
        status,
    )


@bp.get("/places")
@role_required("office", "street")
def places():
    """Every building of the office's compounds, with households, residents and how many
    households are under observation; and the form to add a building."""
    return _places()


@bp.post("/places/buildings")
@role_required("office", "street")
def add_building():
    try:
        form = BuildingForm.read(request.form)
        building = org.create_building(current_user, form.compound_id, form)
    except ServiceError as exc:
        return _places(form=request.form, errors=problems(exc))
    flash(_("Building %(name)s added.", name=building.name), "success")
    return redirect(url_for(".building", building_id=building.id), code=303)


def _building_page(building_id: int, **extra):
    building, _community = scope.load(current_user, Building, building_id)
    now = utcnow()
    return render_template(
        "office/building.html",
        building=building,
        now=now,
        rule_sentence=org.rule_sentence(current_user, building, now),
        households=directory.households(building.id),
        passages=directory.passages(building_id=building.id),
        form=extra.pop("form", {}),
        **extra,
    )


@bp.get("/buildings/<int:building_id>")
@role_required("office", "street")
def building(building_id: int):
    """One building: its seal, its households with members and observation, recent passages."""
    return _building_page(building_id)


@bp.post("/buildings/<int:building_id>/households")
@role_required("office", "street")
def add_household(building_id: int):
    try:
        household = org.create_household(
            current_user, building_id, HouseholdForm.read(request.form)
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _building_page(building_id, form=request.form, errors=problems(exc))
    flash(
        _("Household %(unit)s-%(room)s added.", unit=household.unit, room=household.room),
        "success",
    )
    return redirect(url_for(".household", household_id=household.id), code=303)


def household_page(household_id: int, **extra):
    household, _community = scope.load(current_user, Household, household_id)
    now = utcnow()
    return render_template(
        "office/household.html",
        household=household,
        now=now,
        rule_sentence=org.rule_sentence(
            current_user, household.building, now, household.observation_until
        ),
        members=directory.members(household.id),
        moved_away=directory.moved_away(household.id),
        passages=directory.passages(household_id=household.id),
        pass_kinds=(PassKind.RESIDENT, PassKind.PAPER),
        form=extra.pop("form", {}),
        failed=extra.pop("failed", None),
        **extra,
    )


@bp.get("/households/<int:household_id>")
@role_required("office", "street")
def household(household_id: int):
    """One household: its address, its building's seal, observation, members with their passes
    and latest test, and the household's recent passages."""
    return household_page(household_id)


@bp.post("/households/<int:household_id>/residents")
@role_required("office", "street")
def add_resident(household_id: int):
    """A new member; what was typed is kept on an error (but never the ID number or phone)."""
    try:
        org.create_resident(current_user, household_id, ResidentForm.read(request.form))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        typed = {"name": request.form.get("name", "")}
        return household_page(household_id, form=typed, failed="new", errors=problems(exc))
    flash(_("Member added."), "success")
    return redirect(url_for(".household", household_id=household_id), code=303)


@bp.post("/residents/<int:resident_id>")
@role_required("office", "street")
def edit_resident(resident_id: int):
    """Correct a member's name, or give a new ID number or phone."""
    resident, _community = scope.load(current_user, Resident, resident_id)
    try:
        org.update_resident(current_user, resident_id, ResidentEditForm.read(request.form))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return household_page(resident.household_id, failed=resident_id, errors=problems(exc))
    flash(_("Member details saved."), "success")
    return redirect(url_for(".household", household_id=resident.household_id), code=303)


def _people_page(search: PeopleSearch | None, **extra):
    results = directory.people(current_user, search) if search is not None else None
    return render_template(
        "office/people.html",
        results=results,
        buildings=org.buildings(current_user),
        compounds=org.compounds(current_user),
        form=extra.pop("form", {}),
        **extra,
    )


@bp.get("/people")
@role_required("office", "street")
def people():
    """The search form; results come from the POST (names and last fours stay out of URLs)."""
    return _people_page(None)


@bp.post("/people")
@role_required("office", "street")
def search_people():
    """Residents matching the search, 50 a page; an htmx request gets only the results."""
    try:
        search = PeopleSearch.read(request.form)
    except ServiceError as exc:
        return _people_page(None, form=request.form, errors=problems(exc))
    if htmx and not htmx.boosted:
        return render_template(
            "office/_people_results.html",
            results=directory.people(current_user, search),
            form=request.form,
        )
    return _people_page(search, form=request.form)
