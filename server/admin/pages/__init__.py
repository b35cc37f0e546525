"""Admin pages: one module per page, each with an APIRouter named `router` (thin routes;
the logic lives in server/admin/*_service.py or the domain services)."""
