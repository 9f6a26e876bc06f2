#!/usr/bin/env bash
# A Django 3.2 project as `django-admin startproject` lays it out, with an
# app whose models use the field types apps use (JSONField, UUIDField,
# DecimalField, choices, ForeignKey, ManyToMany, a CheckConstraint, a
# conditional UniqueConstraint) and a second migration that alters a
# column (Django rebuilds the table); `manage.py migrate` makes the
# schema, the ORM the rows (a superuser, sessions, admin log entries).
set -euo pipefail
out=$(realpath -m "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
py=/usr/bin/python3
$py -m django startproject site_ .
$py manage.py startapp shop
cat >> site_/settings.py <<PY
INSTALLED_APPS += ['shop']
DATABASES['default']['NAME'] = '$out'
USE_TZ = True
PY
cat > shop/models.py <<'PY'
import uuid
from django.db import models


class Customer(models.Model):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=100)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True)
    joined = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)
    prefs = models.JSONField(default=dict)


class Tag(models.Model):
    label = models.SlugField(unique=True)


class Order(models.Model):
    STATUS = [('new', 'New'), ('paid', 'Paid'), ('void', 'Void')]
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name='orders')
    placed = models.DateField()
    status = models.CharField(max_length=4, choices=STATUS, default='new')
    total = models.DecimalField(max_digits=10, decimal_places=2)
    note = models.TextField(blank=True, null=True)
    tags = models.ManyToManyField(Tag, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(check=models.Q(total__gte=0), name='order_total_not_negative'),
            models.UniqueConstraint(fields=['customer'], condition=models.Q(status='new'), name='one_open_order'),
        ]
        indexes = [models.Index(fields=['placed', 'status'])]
PY
$py manage.py makemigrations shop -v 0
# The second migration alters a column: Django copies the table into new__shop_order.
sed -i "s/note = models.TextField(blank=True, null=True)/note = models.CharField(max_length=200, blank=True, default='')/" shop/models.py
$py manage.py makemigrations shop -v 0
$py manage.py migrate -v 0
$py manage.py shell -c "
import datetime, decimal
from django.contrib.admin.models import LogEntry, ADDITION
from django.contrib.auth.models import User, Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from shop.models import Customer, Order, Tag
admin = User.objects.create_superuser('admin', 'admin@example.com', 'pw-not-secret')
staff = Group.objects.create(name='staff')
staff.permissions.set(Permission.objects.filter(codename__startswith='view_'))
admin.groups.add(staff)
tags = [Tag.objects.create(label=l) for l in ('gift', 'rush', 'bulk')]
for i in range(40):
    c = Customer.objects.create(email=f'user{i}@example.com', name=f'Ünïcode {i}', prefs={'lang': 'de', 'n': i})
    for k in range(3):
        o = Order.objects.create(customer=c, placed=datetime.date(2021, 1 + k, 1 + i % 28),
                                 status=('new', 'paid', 'void')[k], total=decimal.Decimal(i * 10 + k) / 4)
        o.tags.set(tags[: k + 1])
    LogEntry.objects.log_action(admin.pk, None, c.pk, str(c), ADDITION)
s = SessionStore(); s['cart'] = [1, 2]; s.create()
"
